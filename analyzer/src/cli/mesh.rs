//! `netreach mesh`: service-mesh mTLS coverage of the connections NetworkPolicy allows.

use super::{finish_output, label, stdout, InputArgs, Outcome, EXIT_YES};
use clap::Args;
use netreach::aggregate::Level;
use netreach::mesh::{write_mesh, MeshView};
use netreach::render::Format;
use netreach_model::mesh::{LinkerdPolicy, MeshOptions, ISTIO_ROOT_NAMESPACE};
use std::io::Write;

#[derive(Args)]
pub struct MeshArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// List connections per pod pair, or merged per workload or per namespace.
    #[arg(long, value_enum, default_value_t = Level::Workload)]
    pub level: Level,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,

    /// Istio's root namespace (meshConfig.rootNamespace): where mesh-wide PeerAuthentications live.
    #[arg(long, value_name = "NS", default_value = ISTIO_ROOT_NAMESPACE)]
    pub istio_root_namespace: String,

    /// Linkerd's cluster-wide default inbound policy (proxy.defaultInboundPolicy at install).
    #[arg(long, value_name = "POLICY", default_value = "all-unauthenticated", value_parser = parse_policy)]
    pub linkerd_default_inbound_policy: LinkerdPolicy,
}

fn parse_policy(s: &str) -> Result<LinkerdPolicy, String> {
    LinkerdPolicy::parse(s).ok_or_else(|| {
        let all: Vec<&str> = LinkerdPolicy::ALL.iter().map(|p| p.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

pub fn run(args: MeshArgs) -> Outcome {
    let (analysis, _) = args.input.analyze().map_err(|e| e.to_string())?;
    let options = MeshOptions {
        istio_root_namespace: args.istio_root_namespace.clone(),
        linkerd_default_policy: args.linkerd_default_inbound_policy,
    };
    let view = MeshView::new(&analysis, options);
    if !args.input.quiet {
        for note in &view.notes {
            eprintln!("{} {note}", label("note:", "36"));
        }
    }
    let mut out = stdout();
    finish_output(write_mesh(&view, args.level, args.output, &mut out).and_then(|_| out.flush()))?;
    Ok(EXIT_YES)
}
