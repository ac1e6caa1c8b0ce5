//! Segmentation rules as code, with `netreach::testing`.
//!
//! ```sh
//! cargo run -p netreach --example segmentation                                  # fixtures/shop: all hold
//! cargo run -p netreach --example segmentation -- fixtures/invariants/shop-broken   # three fail
//! ```
//!
//! In a team's own repository the same calls go in a `#[test]`:
//!
//! ```ignore
//! #[test]
//! fn segmentation() -> Result<(), Box<dyn std::error::Error>> {
//!     let cluster = netreach::testing::Segmentation::load("deploy/rendered")?;
//!     cluster.denies("ns:dev", "ns:prod")?;
//!     cluster.allows_only_on("app=api", "app=postgres", &["5432/TCP"])?;
//!     Ok(())
//! }
//! ```

use netreach::testing::{Failure, Isolation, Segmentation};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let folder = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| workspace.join("fixtures/shop"));
    let cluster = match Segmentation::load(&folder) {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };

    // Each assertion is one line; the closures only give them names for this printout.
    type NamedAssertion<'a> = (&'a str, Box<dyn Fn(&Segmentation) -> Result<(), Failure> + 'a>);
    let assertions: Vec<NamedAssertion> = vec![
        ("data never opens connections into shop", Box::new(|c| c.denies("ns:data", "ns:shop"))),
        (
            "the frontend reaches its backends",
            Box::new(|c| c.allows("shop/frontend", "app in (cart,catalog,checkout)")),
        ),
        (
            "checkout reaches the payment gateway on https",
            Box::new(|c| c.allows_on("shop/checkout", "payments/payment-gateway", &["8443/TCP"])),
        ),
        (
            "only catalog and the nightly report talk to postgres, on 5432",
            Box::new(|c| c.allows_only_on("app in (catalog,nightly-report)", "app=postgres", &["5432/TCP"])),
        ),
        (
            "application namespaces default-deny both ways",
            Box::new(|c| c.isolated(&["shop", "payments", "data"], Isolation::Both)),
        ),
        ("a compromised frontend reaches at most 5 pods directly", Box::new(|c| c.max_reach("app=frontend", 1, 5))),
        (
            "the internet reaches only the frontend",
            Box::new(|c| {
                c.check_yaml(
                    r#"deny: {from: internet, to: ["ns:shop", "ns:payments", "ns:data"], except: {to: shop/frontend}}"#,
                )
            }),
        ),
    ];

    let mut failed = 0;
    for (name, assertion) in &assertions {
        match assertion(&cluster) {
            Ok(()) => println!("ok    {name}"),
            Err(failure) => {
                failed += 1;
                println!("FAIL  {name}\n{failure}\n");
            }
        }
    }
    println!("{} of {} held on {}", assertions.len() - failed, assertions.len(), folder.display());
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
