//! IP address sets: `ipBlock`s and the disjoint external ranges they carve out of the address space.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl IpFamily {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> IpFamily {
        if addr.is_ipv4() {
            IpFamily::V4
        } else {
            IpFamily::V6
        }
    }

    fn bits(self) -> u32 {
        match self {
            IpFamily::V4 => 32,
            IpFamily::V6 => 128,
        }
    }

    fn max(self) -> u128 {
        match self {
            IpFamily::V4 => u32::MAX as u128,
            IpFamily::V6 => u128::MAX,
        }
    }
}

fn addr_value(addr: &IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

fn net_bounds(net: &IpNet) -> (IpFamily, u128, u128) {
    let net = net.trunc();
    (IpFamily::of(&net.addr()), addr_value(&net.network()), addr_value(&net.broadcast()))
}

fn make_net(family: IpFamily, start: u128, prefix: u8) -> IpNet {
    match family {
        IpFamily::V4 => IpNet::V4(Ipv4Net::new(Ipv4Addr::from(start as u32), prefix).expect("valid prefix")),
        IpFamily::V6 => IpNet::V6(Ipv6Net::new(Ipv6Addr::from(start), prefix).expect("valid prefix")),
    }
}

/// Why an `ipBlock` is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpBlockError {
    /// `cidr` or an `except` entry is not a CIDR.
    #[error("invalid CIDR {0:?}")]
    InvalidCidr(String),
}

/// A NetworkPolicy `ipBlock`: `cidr` minus the `except` ranges.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpBlock {
    /// The block's range.
    pub cidr: IpNet,
    /// Ranges inside `cidr` that the block leaves out.
    pub except: Vec<IpNet>,
}

fn parse_cidr(s: &str) -> Result<IpNet, IpBlockError> {
    // Host bits are masked off, as the dataplanes do with non-canonical CIDRs.
    s.trim().parse::<IpNet>().map(|n| n.trunc()).map_err(|_| IpBlockError::InvalidCidr(s.to_string()))
}

impl IpBlock {
    /// Parses `cidr` and `except`. An `except` entry that is not a strict subset of `cidr` (which
    /// the API server rejects) is kept: it simply removes nothing, or everything when it covers
    /// `cidr`. Loaders warn about it through [`IpBlock::misplaced_excepts`].
    pub fn parse(cidr: &str, except: &[String]) -> Result<IpBlock, IpBlockError> {
        let net = parse_cidr(cidr)?;
        let excepts = except.iter().map(|e| parse_cidr(e)).collect::<Result<_, _>>()?;
        Ok(IpBlock { cidr: net, except: excepts })
    }

    /// A single address as a block (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> IpBlock {
        IpBlock { cidr: IpNet::from(addr), except: Vec::new() }
    }

    /// `except` entries that are not a strict subset of `cidr`.
    pub fn misplaced_excepts(&self) -> Vec<IpNet> {
        self.except
            .iter()
            .filter(|ex| !(self.cidr.contains(*ex) && ex.prefix_len() > self.cidr.prefix_len()))
            .copied()
            .collect()
    }

    /// The family of `cidr`.
    pub fn family(&self) -> IpFamily {
        IpFamily::of(&self.cidr.addr())
    }

    /// Whether the address is in `cidr` and in no `except` range.
    pub fn contains(&self, addr: &IpAddr) -> bool {
        self.cidr.contains(addr) && !self.except.iter().any(|e| e.contains(addr))
    }

    /// The block as address intervals.
    pub fn to_ranges(&self) -> IpRanges {
        let mut set = IpRanges::from_net(&self.cidr);
        for e in &self.except {
            set = set.difference(&IpRanges::from_net(e));
        }
        set
    }
}

impl fmt::Display for IpBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cidr)?;
        if !self.except.is_empty() {
            let ex: Vec<String> = self.except.iter().map(|e| e.to_string()).collect();
            write!(f, " except {}", ex.join(", "))?;
        }
        Ok(())
    }
}

/// A set of addresses of one family as sorted, disjoint, non-adjacent inclusive intervals.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpRanges {
    /// The family of every address in the set.
    pub family: IpFamily,
    intervals: Vec<(u128, u128)>,
}

impl IpRanges {
    /// The addresses of one network.
    pub fn from_net(net: &IpNet) -> IpRanges {
        let (family, lo, hi) = net_bounds(net);
        IpRanges { family, intervals: vec![(lo, hi)] }
    }

    /// The set of these inclusive intervals, sorted and merged.
    pub fn from_intervals(family: IpFamily, mut intervals: Vec<(u128, u128)>) -> IpRanges {
        intervals.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(intervals.len());
        for (lo, hi) in intervals {
            match merged.last_mut() {
                Some(last) if last.1 == u128::MAX || lo <= last.1 + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        IpRanges { family, intervals: merged }
    }

    /// Every address of the family.
    pub fn whole(family: IpFamily) -> IpRanges {
        IpRanges { family, intervals: vec![(0, family.max())] }
    }

    /// The sorted, disjoint, non-adjacent inclusive intervals.
    pub fn intervals(&self) -> &[(u128, u128)] {
        &self.intervals
    }

    /// Whether the set has no address.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// Whether the address is in the set.
    pub fn contains(&self, addr: &IpAddr) -> bool {
        if IpFamily::of(addr) != self.family {
            return false;
        }
        let v = addr_value(addr);
        let i = self.intervals.partition_point(|&(_, hi)| hi < v);
        i < self.intervals.len() && self.intervals[i].0 <= v
    }

    /// The addresses in this set and not in `other`.
    pub fn difference(&self, other: &IpRanges) -> IpRanges {
        if other.family != self.family {
            return self.clone();
        }
        let mut out = Vec::new();
        for &(lo, hi) in &self.intervals {
            let mut cur = lo;
            let mut open = true;
            for &(olo, ohi) in &other.intervals {
                if ohi < cur || olo > hi {
                    continue;
                }
                if olo > cur {
                    out.push((cur, olo - 1));
                }
                if ohi >= hi {
                    open = false;
                    break;
                }
                cur = ohi + 1;
            }
            if open {
                out.push((cur, hi));
            }
        }
        IpRanges { family: self.family, intervals: out }
    }

    /// The fewest CIDRs whose union is exactly this set.
    pub fn to_cidrs(&self) -> Vec<IpNet> {
        let bits = self.family.bits();
        let mut out = Vec::new();
        for &(lo, hi) in &self.intervals {
            let mut start = lo;
            loop {
                // Largest aligned block starting at `start` that stays within `hi`.
                let align = if start == 0 { bits } else { start.trailing_zeros().min(bits) };
                let mut size_log = align;
                while size_log > 0 {
                    let last = start.checked_add(block_len(size_log).wrapping_sub(1));
                    match last {
                        Some(end) if end <= hi && (size_log < 128 || start == 0) => break,
                        _ => size_log -= 1,
                    }
                }
                out.push(make_net(self.family, start, (bits - size_log) as u8));
                let end = start.wrapping_add(block_len(size_log).wrapping_sub(1));
                if end >= hi {
                    break;
                }
                start = end + 1;
            }
        }
        out
    }

    /// A readable exact description: either plain CIDRs, or the smallest CIDR that covers the
    /// set with the holes listed as `except` (whichever needs fewer entries).
    pub fn describe(&self) -> (Vec<IpNet>, Vec<IpNet>) {
        let direct = self.to_cidrs();
        if self.intervals.is_empty() || direct.len() == 1 {
            return (direct, Vec::new());
        }
        let lo = self.intervals[0].0;
        let hi = self.intervals[self.intervals.len() - 1].1;
        let bits = self.family.bits();
        let common = if lo == hi { bits } else { (lo ^ hi).leading_zeros().saturating_sub(128 - bits) };
        let prefix = common.min(bits) as u8;
        let cover = make_net(self.family, lo, prefix).trunc();
        let holes = IpRanges::from_net(&cover).difference(self).to_cidrs();
        if holes.len() < direct.len() {
            (vec![cover], holes)
        } else {
            (direct, Vec::new())
        }
    }
}

/// Number of addresses in a block of 2^size_log; 2^128 wraps to 0, which callers treat as "all".
fn block_len(size_log: u32) -> u128 {
    if size_log >= 128 {
        0
    } else {
        1u128 << size_log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(cidr: &str, except: &[&str]) -> IpRanges {
        let ex: Vec<String> = except.iter().map(|s| s.to_string()).collect();
        IpBlock::parse(cidr, &ex).unwrap().to_ranges()
    }

    #[test]
    fn ipblock_contains_respects_except() {
        let b = IpBlock::parse("10.0.0.0/8", &["10.1.0.0/16".to_string()]).unwrap();
        assert!(b.contains(&"10.2.3.4".parse().unwrap()));
        assert!(!b.contains(&"10.1.3.4".parse().unwrap()));
        assert!(!b.contains(&"11.0.0.1".parse().unwrap()));
        assert!(!b.contains(&"::1".parse().unwrap()));
    }

    #[test]
    fn invalid_blocks_are_rejected() {
        assert_eq!(IpBlock::parse("10.0.0.0/33", &[]), Err(IpBlockError::InvalidCidr("10.0.0.0/33".into())));
        assert_eq!(IpBlock::parse("10.0.0.0/16", &["bad".to_string()]), Err(IpBlockError::InvalidCidr("bad".into())));
    }

    #[test]
    fn misplaced_excepts_are_reported_and_remove_only_what_they_cover() {
        let outside = IpBlock::parse("10.2.0.0/16", &["10.0.0.0/24".to_string()]).unwrap();
        assert_eq!(outside.misplaced_excepts(), vec!["10.0.0.0/24".parse::<IpNet>().unwrap()]);
        assert!(outside.contains(&"10.2.0.1".parse().unwrap()));
        assert_eq!(outside.to_ranges(), IpRanges::from_net(&"10.2.0.0/16".parse().unwrap()));
        let covering = IpBlock::parse("10.0.0.0/16", &["10.0.0.0/8".to_string()]).unwrap();
        assert_eq!(covering.misplaced_excepts().len(), 1);
        assert!(!covering.contains(&"10.0.0.1".parse().unwrap()));
        assert!(covering.to_ranges().is_empty());
        let inside = IpBlock::parse("10.0.0.0/16", &["10.0.1.0/24".to_string()]).unwrap();
        assert!(inside.misplaced_excepts().is_empty());
    }

    #[test]
    fn cidr_decomposition_is_exact_and_minimal() {
        let r = ranges("0.0.0.0/0", &["10.0.0.0/8"]);
        let cidrs: Vec<String> = r.to_cidrs().iter().map(|c| c.to_string()).collect();
        assert_eq!(
            cidrs,
            [
                "0.0.0.0/5",
                "8.0.0.0/7",
                "11.0.0.0/8",
                "12.0.0.0/6",
                "16.0.0.0/4",
                "32.0.0.0/3",
                "64.0.0.0/2",
                "128.0.0.0/1"
            ]
        );
        let (cover, holes) = r.describe();
        assert_eq!(cover, vec!["0.0.0.0/0".parse::<IpNet>().unwrap()]);
        assert_eq!(holes, vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]);
        let all6 = IpRanges::whole(IpFamily::V6);
        assert_eq!(all6.to_cidrs(), vec!["::/0".parse::<IpNet>().unwrap()]);
        let all4 = IpRanges::whole(IpFamily::V4);
        assert_eq!(all4.to_cidrs(), vec!["0.0.0.0/0".parse::<IpNet>().unwrap()]);
        let host = ranges("192.168.1.7/32", &[]);
        assert_eq!(host.describe().0, vec!["192.168.1.7/32".parse::<IpNet>().unwrap()]);
    }
}
