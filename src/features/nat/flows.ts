// A port forward's identity as far as its connections go: what apply needs, in each generation's
// manifest, to end exactly the connections of a forward that a new generation drops.
/** What identifies a forward's translated connections (kept in each generation's manifest). */
export interface ForwardFlows {
  label: string;
  family: 4 | 6;
  protos: ('tcp' | 'udp')[];
  port: number;
  portEnd?: number;
  destination?: string;
  target: string;
  targetPort?: number;
}

/** The flow identities of a node's forwards, from the NAT model. */
export function forwardFlows(forwards: readonly { label: string; family: 4 | 6; protos: ('tcp' | 'udp')[]; port: number; portEnd?: number; destination?: string; target: { addr: { toString(): string }; port?: number } }[]): ForwardFlows[] {
  return forwards.map((f) => ({
    label: f.label, family: f.family, protos: [...f.protos], port: f.port,
    ...(f.portEnd !== undefined ? { portEnd: f.portEnd } : {}),
    ...(f.destination ? { destination: f.destination } : {}),
    target: f.target.addr.toString(),
    ...(f.target.port !== undefined ? { targetPort: f.target.port } : {}),
  }));
}
