// RFC 9096 (L-13): when a delegated prefix is replaced, the router must at once announce the old
// one with preferred lifetime 0, so hosts stop choosing their address in it for new connections.
// systemd-networkd 252 does not (measured in the lab: after a renumbering its RAs carry only the
// new /64 and hosts keep the old address preferred for its remaining 1800 s), and it has no way to
// be told. This script sends such an RA itself; the prefix-delegation follower, which already
// notices the change within two seconds, calls it.
//
// The RA carries nothing but the old prefix (on-link and autonomous flags, valid and preferred
// lifetime 0) and the same router lifetime and M/O flags networkd announces, from the router's
// link-local address (the kernel picks it for ff02::1 on that link), so it changes nothing else a
// host keeps about the router. Valid lifetime 0 is RFC 9096's option (a): the host's address
// becomes deprecated at once and (RFC 4862 5.5.3 e, its two-hour rule) stays valid no longer than
// it would have anyway; Linux also drops the old on-link route.
//
// Perl because it is the one language on every Debian system (perl-base is Essential) with raw
// sockets in its base library; networkd's own sender cannot be reached and the router runs no
// other RA daemon. The kernel computes the ICMPv6 checksum of a raw ICMPv6 socket.
export const RA_DEPRECATE_PATH = '/etc/kairo/ra/deprecate-prefix';

export function deprecateScript(head: string): string {
  return `#!/usr/bin/perl
${head}# Usage: deprecate-prefix DEVICE PREFIX/LEN ROUTER_LIFETIME [MANAGED OTHER]
# Sends one router advertisement on DEVICE that withdraws PREFIX (RFC 9096): preferred and valid
# lifetime 0, router lifetime and M/O flags as the link's regular advertisements say.
use strict;
use warnings;
use Socket qw(AF_INET6 SOCK_RAW IPPROTO_IPV6 IPV6_MULTICAST_HOPS IPV6_MULTICAST_IF inet_pton pack_sockaddr_in6);

my ($dev, $prefix, $lifetime, $managed, $other) = @ARGV;
die "usage: deprecate-prefix DEVICE PREFIX/LEN ROUTER_LIFETIME [MANAGED OTHER]\\n" unless defined $lifetime && $dev =~ /^[\\w.-]{1,15}$/;
my ($addr, $len) = split m{/}, $prefix;
my $bits = defined $addr ? inet_pton(AF_INET6, $addr) : undef;
die "deprecate-prefix: '$prefix' is not an IPv6 prefix\\n" unless defined $bits && defined $len && $len =~ /^\\d+$/ && $len <= 128;
# Only the network part: the follower may pass the router's own address with its length.
my $mask = pack('B128', '1' x $len . '0' x (128 - $len));
$bits &= $mask;

open(my $fh, '<', "/sys/class/net/$dev/ifindex") or die "deprecate-prefix: no device $dev\\n";
chomp(my $ifindex = <$fh>);
close $fh;

socket(my $s, AF_INET6, SOCK_RAW, 58) or die "deprecate-prefix: raw ICMPv6 socket: $!\\n";
# Neighbour discovery is accepted only with hop limit 255 (RFC 4861 6.1.2).
setsockopt($s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, pack('i', 255)) or die "deprecate-prefix: hop limit: $!\\n";
setsockopt($s, IPPROTO_IPV6, IPV6_MULTICAST_IF, pack('i', $ifindex)) or die "deprecate-prefix: interface: $!\\n";

my $flags = (($managed // 'no') eq 'yes' ? 0x80 : 0) | (($other // 'no') eq 'yes' ? 0x40 : 0);
# Router advertisement: type 134, code 0, checksum (the kernel's), hop limit 0 (unspecified),
# M/O flags, router lifetime, reachable time and retransmission timer 0 (unspecified).
my $ra = pack('CCnCCnNN', 134, 0, 0, 0, $flags, $lifetime, 0, 0);
# Prefix information: type 3, length 4 (32 bytes), prefix length, L and A flags, valid 0, preferred 0.
my $pio = pack('CCCCNNN', 3, 4, $len, 0xc0, 0, 0, 0) . $bits;
my $to = pack_sockaddr_in6(0, inet_pton(AF_INET6, 'ff02::1'), $ifindex, 0);
send($s, $ra . $pio, 0, $to) or die "deprecate-prefix: send on $dev: $!\\n";
print "ra: $dev: announced ", Socket::inet_ntop(AF_INET6, $bits), "/$len with lifetime 0 (RFC 9096)\\n";
`;
}
