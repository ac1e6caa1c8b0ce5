//! Protocols and sets of ports: the edge weight of the reachability graph.

use std::fmt;

/// The protocols a NetworkPolicy port entry can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// Every protocol, in this order.
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    /// The protocol as Kubernetes spells it: `TCP`, `UDP`, `SCTP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Parses the spelling Kubernetes accepts (upper case only, as the API validates it).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lowest valid port number.
pub const MIN_PORT: u16 = 1;
/// The highest valid port number.
pub const MAX_PORT: u16 = 65535;

/// Why `PORT[-PORT][/PROTO]` text is not a port range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortParseError {
    /// The text after `/` names no protocol.
    #[error("unknown protocol {0:?} (TCP, UDP or SCTP)")]
    UnknownProtocol(String),
    /// The text before `/` is not a port or a range of ports.
    #[error("{0:?} is not a port (1-65535)")]
    NotAPort(String),
}

/// One protocol and an inclusive range of its ports, as people write it: `5432`, `53/udp`,
/// `9092-9094/TCP` (the protocol is TCP when left out, and case-insensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// The protocol of every port in the range.
    pub protocol: Protocol,
    /// The first port (inclusive).
    pub lo: u16,
    /// The last port (inclusive).
    pub hi: u16,
}

impl PortRange {
    /// Parses `PORT[-PORT][/PROTO]`; whitespace around the port numbers is allowed, around the
    /// protocol it is not. The protocol is checked first.
    pub fn parse(text: &str) -> Result<PortRange, PortParseError> {
        let (ports, proto) = text.split_once('/').unwrap_or((text, "TCP"));
        let protocol =
            Protocol::parse(&proto.to_uppercase()).ok_or_else(|| PortParseError::UnknownProtocol(proto.to_string()))?;
        let not_a_port = || PortParseError::NotAPort(ports.to_string());
        let number = |s: &str| s.trim().parse::<u16>().ok().filter(|p| *p >= MIN_PORT).ok_or_else(not_a_port);
        let (lo, hi) = match ports.split_once('-') {
            Some((lo, hi)) => (number(lo)?, number(hi)?),
            None => (number(ports)?, number(ports)?),
        };
        if lo > hi {
            return Err(not_a_port());
        }
        Ok(PortRange { protocol, lo, hi })
    }

    /// The range as a [`PortSet`].
    pub fn to_set(self) -> PortSet {
        PortSet::range(self.protocol, self.lo, self.hi)
    }
}

/// A set of (protocol, port) pairs, kept per protocol as sorted, disjoint, non-adjacent
/// inclusive ranges so that equal sets compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortSet {
    ranges: [Vec<(u16, u16)>; 3],
}

impl PortSet {
    /// No port at all.
    pub fn empty() -> PortSet {
        PortSet::default()
    }

    /// Every port of every protocol.
    pub fn all() -> PortSet {
        let full = vec![(MIN_PORT, MAX_PORT)];
        PortSet { ranges: [full.clone(), full.clone(), full] }
    }

    /// Every port of one protocol.
    pub fn all_of(protocol: Protocol) -> PortSet {
        PortSet::range(protocol, MIN_PORT, MAX_PORT)
    }

    /// One port of one protocol.
    pub fn single(protocol: Protocol, port: u16) -> PortSet {
        PortSet::range(protocol, port, port)
    }

    /// An inclusive range; an empty set when `lo > hi`.
    pub fn range(protocol: Protocol, lo: u16, hi: u16) -> PortSet {
        let mut set = PortSet::empty();
        if lo <= hi {
            set.ranges[protocol.index()].push((lo.max(MIN_PORT), hi));
        }
        set
    }

    /// Whether the set has no port.
    pub fn is_empty(&self) -> bool {
        self.ranges.iter().all(Vec::is_empty)
    }

    /// Whether the set has every port of every protocol.
    pub fn is_all(&self) -> bool {
        *self == PortSet::all()
    }

    /// The merged ranges of one protocol, sorted.
    pub fn ranges(&self, protocol: Protocol) -> &[(u16, u16)] {
        &self.ranges[protocol.index()]
    }

    /// Whether the set has this port.
    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        let ranges = self.ranges(protocol);
        let i = ranges.partition_point(|&(_, hi)| hi < port);
        i < ranges.len() && ranges[i].0 <= port
    }

    /// The ports in either set.
    pub fn union(&self, other: &PortSet) -> PortSet {
        let mut out = PortSet::empty();
        for p in Protocol::ALL {
            let mut all: Vec<(u16, u16)> = self.ranges(p).iter().chain(other.ranges(p)).copied().collect();
            all.sort_unstable();
            out.ranges[p.index()] = merge_sorted(all);
        }
        out
    }

    /// Adds the ports of `other` to this set.
    pub fn union_with(&mut self, other: &PortSet) {
        if !other.is_empty() {
            *self = self.union(other);
        }
    }

    /// The ports in both sets.
    pub fn intersection(&self, other: &PortSet) -> PortSet {
        let mut out = PortSet::empty();
        for p in Protocol::ALL {
            let (a, b) = (self.ranges(p), other.ranges(p));
            let (mut i, mut j) = (0, 0);
            let mut res = Vec::new();
            while i < a.len() && j < b.len() {
                let lo = a[i].0.max(b[j].0);
                let hi = a[i].1.min(b[j].1);
                if lo <= hi {
                    res.push((lo, hi));
                }
                if a[i].1 < b[j].1 {
                    i += 1;
                } else {
                    j += 1;
                }
            }
            out.ranges[p.index()] = res;
        }
        out
    }

    /// `self` minus `other`.
    pub fn difference(&self, other: &PortSet) -> PortSet {
        self.intersection(&other.complement())
    }

    /// Every port not in this set.
    pub fn complement(&self) -> PortSet {
        let mut out = PortSet::empty();
        for p in Protocol::ALL {
            let mut res = Vec::new();
            let mut next: u32 = MIN_PORT as u32;
            for &(lo, hi) in self.ranges(p) {
                if (lo as u32) > next {
                    res.push((next as u16, lo - 1));
                }
                next = hi as u32 + 1;
            }
            if next <= MAX_PORT as u32 {
                res.push((next as u16, MAX_PORT));
            }
            out.ranges[p.index()] = res;
        }
        out
    }

    /// Whether every port of this set is in `other`.
    pub fn is_subset(&self, other: &PortSet) -> bool {
        self.difference(other).is_empty()
    }

    /// Protocols with at least one port, with their ranges, in TCP, UDP, SCTP order.
    pub fn iter(&self) -> impl Iterator<Item = (Protocol, &[(u16, u16)])> {
        Protocol::ALL.into_iter().map(|p| (p, self.ranges(p))).filter(|(_, r)| !r.is_empty())
    }
}

fn merge_sorted(sorted: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(sorted.len());
    for (lo, hi) in sorted {
        match out.last_mut() {
            Some(last) if lo as u32 <= last.1 as u32 + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

impl fmt::Display for PortSet {
    /// `TCP 80,443,8000-8080; UDP 53`, or `all` for every port of every protocol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all");
        }
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (p, ranges) in self.iter() {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{p} ")?;
            if ranges == [(MIN_PORT, MAX_PORT)] {
                f.write_str("all")?;
                continue;
            }
            for (i, &(lo, hi)) in ranges.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                if lo == hi {
                    write!(f, "{lo}")?;
                } else {
                    write!(f, "{lo}-{hi}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse_as_written() {
        let range = |protocol, lo, hi| Ok(PortRange { protocol, lo, hi });
        assert_eq!(PortRange::parse("5432"), range(Protocol::Tcp, 5432, 5432));
        assert_eq!(PortRange::parse("53/udp"), range(Protocol::Udp, 53, 53));
        assert_eq!(PortRange::parse(" 9092 - 9094 /SCTP"), range(Protocol::Sctp, 9092, 9094));
        assert_eq!(PortRange::parse("80/XTP"), Err(PortParseError::UnknownProtocol("XTP".into())));
        assert_eq!(PortRange::parse("x/XTP").unwrap_err().to_string(), "unknown protocol \"XTP\" (TCP, UDP or SCTP)");
        for bad in ["0", "70000", "9-3", "", "http", "-", "1-2-3"] {
            assert_eq!(PortRange::parse(bad), Err(PortParseError::NotAPort(bad.into())), "{bad}");
        }
        assert_eq!(PortRange::parse("0/TCP").unwrap_err().to_string(), "\"0\" is not a port (1-65535)");
    }

    #[test]
    fn union_merges_adjacent_and_overlapping_ranges() {
        let a = PortSet::range(Protocol::Tcp, 80, 90).union(&PortSet::range(Protocol::Tcp, 91, 100));
        assert_eq!(a.ranges(Protocol::Tcp), &[(80, 100)]);
        let b = a.union(&PortSet::range(Protocol::Tcp, 50, 85));
        assert_eq!(b.ranges(Protocol::Tcp), &[(50, 100)]);
        assert!(b.ranges(Protocol::Udp).is_empty());
    }

    #[test]
    fn intersection_difference_and_complement_agree() {
        let a = PortSet::range(Protocol::Tcp, 1, 1000).union(&PortSet::single(Protocol::Udp, 53));
        let b = PortSet::range(Protocol::Tcp, 500, 2000);
        assert_eq!(a.intersection(&b), PortSet::range(Protocol::Tcp, 500, 1000));
        assert_eq!(a.difference(&b), PortSet::range(Protocol::Tcp, 1, 499).union(&PortSet::single(Protocol::Udp, 53)));
        assert!(PortSet::all().complement().is_empty());
        assert_eq!(PortSet::empty().complement(), PortSet::all());
        assert!(a.contains(Protocol::Udp, 53) && !a.contains(Protocol::Udp, 54));
        assert!(!a.contains(Protocol::Sctp, 53));
    }

    #[test]
    fn display_is_compact() {
        let s = PortSet::single(Protocol::Tcp, 80)
            .union(&PortSet::range(Protocol::Tcp, 8000, 8080))
            .union(&PortSet::single(Protocol::Udp, 53));
        assert_eq!(s.to_string(), "TCP 80,8000-8080; UDP 53");
        assert_eq!(PortSet::all().to_string(), "all");
        assert_eq!(PortSet::all_of(Protocol::Udp).to_string(), "UDP all");
    }
}
