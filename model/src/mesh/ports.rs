//! Per-port modes of a destination: [`DestinationModes`] (a default and exceptions per port
//! range) and [`parse_port_list`] for the annotations that let ports bypass the proxy
//! (`traffic.sidecar.istio.io/excludeInboundPorts`, `config.linkerd.io/skip-inbound-ports`).

use super::PortMode;

/// Why a port list annotation does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortListError {
    /// Not a number from 1 to 65535.
    #[error("invalid port {port:?} in {list:?}")]
    Port {
        /// The entry as written.
        port: String,
        /// The whole annotation value.
        list: String,
    },
    /// A range whose low end is above its high end.
    #[error("invalid port range {range:?} in {list:?}")]
    Range {
        /// The entry as written.
        range: String,
        /// The whole annotation value.
        list: String,
    },
}

/// Parses a port list annotation: `"80,8080-8090"` (and `"*"` for every port, returned as
/// 1-65535). Ranges are inclusive; spaces are allowed around entries.
pub fn parse_port_list(value: &str) -> Result<Vec<(u16, u16)>, PortListError> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "*" {
            out.push((1, 65535));
            continue;
        }
        let port = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| PortListError::Port { port: s.to_string(), list: value.to_string() })
        };
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (port(lo)?, port(hi)?);
                if lo > hi {
                    return Err(PortListError::Range { range: part.to_string(), list: value.to_string() });
                }
                out.push((lo, hi));
            }
            None => {
                let p = port(part)?;
                out.push((p, p));
            }
        }
    }
    Ok(out)
}

/// A destination pod's TCP ports: a default mode and exceptions, per port range.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DestinationModes {
    /// The mode of every port not in `exceptions`.
    pub default: PortMode,
    /// Inclusive ranges, sorted and disjoint, whose mode differs from `default`.
    pub exceptions: Vec<(u16, u16, PortMode)>,
}

impl DestinationModes {
    /// Every port in `mode`.
    pub fn uniform(mode: PortMode) -> DestinationModes {
        DestinationModes { default: mode, exceptions: Vec::new() }
    }

    /// `default`, then each `(lo, hi, mode)` laid over what came before (later wins).
    pub fn layered(default: PortMode, layers: impl IntoIterator<Item = (u16, u16, PortMode)>) -> DestinationModes {
        let mut out = DestinationModes::uniform(default);
        for (lo, hi, mode) in layers {
            let mut next: Vec<(u16, u16, PortMode)> = Vec::new();
            for &(a, b, m) in &out.exceptions {
                if b < lo || a > hi {
                    next.push((a, b, m));
                    continue;
                }
                if a < lo {
                    next.push((a, lo - 1, m));
                }
                if b > hi {
                    next.push((hi + 1, b, m));
                }
            }
            if mode != default {
                next.push((lo, hi, mode));
            }
            next.sort();
            out.exceptions = next;
        }
        out
    }

    /// The mode of one port.
    pub fn mode_at(&self, port: u16) -> PortMode {
        self.exceptions.iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&port)).map_or(self.default, |e| e.2)
    }

    /// Every TCP port, as consecutive `(lo, hi, mode)` pieces from 1 to 65535.
    pub fn pieces(&self) -> Vec<(u16, u16, PortMode)> {
        let mut out = Vec::new();
        let mut next: u32 = 1;
        for &(lo, hi, mode) in &self.exceptions {
            if (lo as u32) > next {
                out.push((next as u16, lo - 1, self.default));
            }
            out.push((lo, hi, mode));
            next = hi as u32 + 1;
        }
        if next <= 65535 {
            out.push((next as u16, 65535, self.default));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::MtlsMode;

    #[test]
    fn port_lists_and_layers() {
        assert_eq!(parse_port_list("80, 8000-8010,*"), Ok(vec![(80, 80), (8000, 8010), (1, 65535)]));
        assert_eq!(parse_port_list("80-70").unwrap_err().to_string(), r#"invalid port range "80-70" in "80-70""#);
        assert_eq!(parse_port_list("80, 0").unwrap_err().to_string(), r#"invalid port "0" in "80, 0""#);
        let strict = PortMode::IstioSidecar(MtlsMode::Strict);
        let d = DestinationModes::layered(
            strict,
            [(9080, 9080, PortMode::IstioSidecar(MtlsMode::Disable)), (9000, 9100, PortMode::Plain)],
        );
        assert_eq!(d.exceptions, vec![(9000, 9100, PortMode::Plain)]);
        assert_eq!(d.mode_at(9080), PortMode::Plain);
        assert_eq!(d.mode_at(80), strict);
        let pieces = d.pieces();
        assert_eq!(pieces, vec![(1, 8999, strict), (9000, 9100, PortMode::Plain), (9101, 65535, strict)]);
        let d = DestinationModes::layered(strict, [(100, 200, PortMode::Plain), (150, 150, strict)]);
        assert_eq!(d.exceptions, vec![(100, 149, PortMode::Plain), (151, 200, PortMode::Plain)]);
    }
}
