import { siteJsonSchema } from '../config/schema.js';

export function schemaCommand(): void {
  console.log(JSON.stringify(siteJsonSchema(), null, 2));
}
