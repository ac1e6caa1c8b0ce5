//! Istio `AuthorizationPolicy` (security.istio.io v1 and v1beta1): which policies bind a
//! workload, whether a rule matches one connection, and the verdict of the policies on a
//! workload. Pure functions; loaders fill [`AuthorizationPolicy`], the analyzer groups sources
//! and destinations by what these functions can tell apart.
//!
//! Sources (istio.io): the AuthorizationPolicy reference
//! (docs/reference/config/security/authorization-policy), the "Security" concepts › "Authorization"
//! (docs/concepts/security), the "TCP Traffic" task (docs/tasks/security/authorization/authz-tcp),
//! and ISTIO-SECURITY-2021-004 (news/security/istio-security-2021-004) on negative matches
//! without mTLS.
//!
//! A connection is decided as a whole: the proxy sees source identity (with mTLS), source IP,
//! destination IP and port. Fields only HTTP carries (`requestPrincipals`, `hosts`, `methods`,
//! `paths`, `request.*` keys) follow the documented TCP rules where the proxy reads TCP ([`Layer`]):
//! an ALLOW rule using them never matches, a DENY (or CUSTOM) rule applies without them. Where
//! HTTP may flow they select requests, so they allow some and deny none of the connection.

use crate::labels::Labels;
use ipnet::IpNet;

/// Istio's trust domain unless the installation says otherwise (`meshConfig.trustDomain`).
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";

/// `spec.action`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthzAction {
    /// `ALLOW` (the default).
    Allow,
    /// `DENY`.
    Deny,
    /// `AUDIT`: marks requests for logging; decides nothing.
    Audit,
    /// `CUSTOM`: an external authorizer (`spec.provider.name`) decides.
    Custom(String),
}

impl AuthzAction {
    /// The actions' spellings.
    pub const NAMES: [&'static str; 4] = ["ALLOW", "DENY", "AUDIT", "CUSTOM"];

    /// The action as Istio spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthzAction::Allow => "ALLOW",
            AuthzAction::Deny => "DENY",
            AuthzAction::Audit => "AUDIT",
            AuthzAction::Custom(_) => "CUSTOM",
        }
    }
}

/// One `spec.targetRefs` entry (or the deprecated `spec.targetRef`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetRef {
    /// `group` (empty for the core group).
    pub group: String,
    /// `kind`: Gateway, GatewayClass, Service, ServiceEntry.
    pub kind: String,
    /// `name`.
    pub name: String,
}

/// What a policy attaches to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `spec.selector.matchLabels`; empty (or no selector): every workload in scope.
    Selector(Labels),
    /// `spec.targetRefs`: resources whose proxies enforce the policy.
    Targets(Vec<TargetRef>),
}

/// `rules[].from[].source`: fields are ANDed, values within a field ORed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthzSource {
    /// `principals`: peer identities (`TRUST-DOMAIN/ns/NS/sa/SA`); need mTLS.
    pub principals: Vec<String>,
    /// `notPrincipals`.
    pub not_principals: Vec<String>,
    /// `requestPrincipals` (JWT; HTTP only).
    pub request_principals: Vec<String>,
    /// `notRequestPrincipals` (HTTP only).
    pub not_request_principals: Vec<String>,
    /// `namespaces`: the namespace of the peer identity; needs mTLS.
    pub namespaces: Vec<String>,
    /// `notNamespaces`.
    pub not_namespaces: Vec<String>,
    /// `ipBlocks`: the source IP of the connection.
    pub ip_blocks: Vec<IpNet>,
    /// `notIpBlocks`.
    pub not_ip_blocks: Vec<IpNet>,
    /// `remoteIpBlocks`: the original client IP; the source IP without a trusted proxy in front.
    pub remote_ip_blocks: Vec<IpNet>,
    /// `notRemoteIpBlocks`.
    pub not_remote_ip_blocks: Vec<IpNet>,
}

impl AuthzSource {
    fn uses_http(&self) -> bool {
        !self.request_principals.is_empty() || !self.not_request_principals.is_empty()
    }
}

/// `rules[].to[].operation`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthzOperation {
    /// `ports`: destination ports.
    pub ports: Vec<u16>,
    /// `notPorts`.
    pub not_ports: Vec<u16>,
    /// `hosts`, `notHosts`, `methods`, `notMethods`, `paths`, `notPaths` that are set (HTTP
    /// only), by field name: kept to name them in explanations and findings.
    pub http_fields: Vec<String>,
}

/// A `when` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionKey {
    /// `source.ip`.
    SourceIp,
    /// `remote.ip`: the source IP without a trusted proxy in front.
    RemoteIp,
    /// `source.namespace` (from the peer identity).
    SourceNamespace,
    /// `source.principal`.
    SourcePrincipal,
    /// `destination.ip`.
    DestinationIp,
    /// `destination.port`.
    DestinationPort,
    /// `connection.sni`: the TLS server name, unknown without traffic.
    ConnectionSni,
    /// `request.*` and `experimental.*` keys (HTTP only), as written.
    Http(String),
}

/// The values of a `when` condition, typed by its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionValues {
    /// Addresses and CIDRs (`source.ip`, `remote.ip`, `destination.ip`).
    Ips(Vec<IpNet>),
    /// Ports (`destination.port`).
    Ports(Vec<u16>),
    /// Strings with Istio's exact, prefix, suffix and presence matches.
    Strings(Vec<String>),
}

impl ConditionValues {
    fn is_empty(&self) -> bool {
        match self {
            ConditionValues::Ips(v) => v.is_empty(),
            ConditionValues::Ports(v) => v.is_empty(),
            ConditionValues::Strings(v) => v.is_empty(),
        }
    }
}

/// `rules[].when[]`: matches when `values` (if any) has a match and `not_values` (if any) none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthzCondition {
    /// `key`.
    pub key: ConditionKey,
    /// `values`.
    pub values: ConditionValues,
    /// `notValues`.
    pub not_values: ConditionValues,
}

/// `rules[]`: "a match occurs when at least one source, one operation and all conditions
/// matches the request. An empty rule is always matched" (reference, Rule). An empty list is
/// a field not set: any source, any operation, no condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthzRule {
    /// `from[].source`.
    pub from: Vec<AuthzSource>,
    /// `to[].operation`.
    pub to: Vec<AuthzOperation>,
    /// `when[]`.
    pub when: Vec<AuthzCondition>,
}

impl AuthzRule {
    /// Whether the rule uses a field only HTTP carries.
    pub fn uses_http(&self) -> bool {
        self.from.iter().any(AuthzSource::uses_http)
            || self.to.iter().any(|o| !o.http_fields.is_empty())
            || self.when.iter().any(|c| matches!(c.key, ConditionKey::Http(_)))
    }

    /// Whether any port matters to the rule (`ports`, `notPorts`, `destination.port`).
    fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        let ops = self.to.iter().flat_map(|o| o.ports.iter().chain(&o.not_ports).copied());
        let conditions = self.when.iter().flat_map(|c| {
            [&c.values, &c.not_values].into_iter().flat_map(|v| match v {
                ConditionValues::Ports(p) => p.clone(),
                _ => Vec::new(),
            })
        });
        ops.chain(conditions)
    }
}

/// An Istio `AuthorizationPolicy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationPolicy {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.selector` or `spec.targetRefs`.
    pub binding: Binding,
    /// `spec.action` (with `spec.provider.name` for CUSTOM).
    pub action: AuthzAction,
    /// `spec.rules`; empty: an ALLOW allows nothing, a DENY denies nothing.
    pub rules: Vec<AuthzRule>,
}

impl AuthorizationPolicy {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether the policy, by its selector, applies to a workload of `namespace` with `labels`.
    /// Policies with targetRefs never bind workloads this way.
    ///
    /// Reference, `selector`: "The selector will match with workloads in the same namespace as
    /// the authorization policy. If the authorization policy is in the root namespace, the
    /// selector will additionally match with workloads in all namespaces"; without a selector
    /// the policy applies to every workload of its namespace, or of the mesh in the root
    /// namespace (concepts/security, "Workload selector").
    pub fn selects(&self, root: &str, namespace: &str, labels: &Labels) -> bool {
        let Binding::Selector(selector) = &self.binding else { return false };
        (self.namespace == root || self.namespace == namespace)
            && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// Istio's string match (reference, AuthorizationPolicy: "exact match, prefix match `abc*`,
/// suffix match `*abc` and presence match `*`"). An empty value (no peer identity) matches
/// nothing, not even `*`.
pub fn string_matches(pattern: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return value.ends_with(suffix);
    }
    pattern == value
}

/// The source side of one connection, as the destination's proxy sees it.
pub struct AuthzPeer<'a> {
    /// The peer identity (namespace, service account) when the connection is mTLS; `None` for
    /// plaintext (PERMISSIVE, a source outside the mesh).
    pub identity: Option<(&'a str, &'a str)>,
    /// Whether the source IP lies in a CIDR; `false` when the address is unknown.
    pub source_in: &'a dyn Fn(&IpNet) -> bool,
}

/// The destination side of one connection.
pub struct AuthzTarget<'a> {
    /// The destination port (TCP).
    pub port: u16,
    /// Whether the destination IP lies in a CIDR; `false` when the address is unknown.
    pub destination_in: &'a dyn Fn(&IpNet) -> bool,
}

/// The outcome of the authorization policies for one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthzVerdict {
    /// The policies let the connection through.
    Allow,
    /// The policies reject it.
    Deny,
    /// An external authorizer (CUSTOM) decides; unknown without traffic, never an allow.
    Custom,
}

impl AuthzVerdict {
    /// Every verdict, in output order.
    pub const ALL: [AuthzVerdict; 3] = [AuthzVerdict::Allow, AuthzVerdict::Deny, AuthzVerdict::Custom];

    /// `allow`, `deny`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthzVerdict::Allow => "allow",
            AuthzVerdict::Deny => "deny",
            AuthzVerdict::Custom => "custom",
        }
    }
}

/// Why the verdict is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthzBasis {
    /// No Istio proxy enforces policy on this port (no proxy, a bypassed port, UDP/SCTP).
    NotEnforced,
    /// A proxy enforces, but no CUSTOM, DENY or ALLOW policy applies to the workload.
    NoPolicy,
    /// A DENY rule matched.
    DeniedByRule,
    /// ALLOW policies apply and none of their rules matched.
    NoAllowMatched,
    /// An ALLOW rule matched.
    AllowedByRule,
    /// An ALLOW rule with HTTP-only fields matched on a port that may carry HTTP: the
    /// connection carries the requests those fields allow.
    AllowedForSomeRequests,
    /// DENY or CUSTOM policies only, none matched.
    NoRuleMatched,
    /// Nothing denies and a CUSTOM rule matched: its provider decides.
    CustomRule,
}

impl AuthzBasis {
    /// Every basis, in output order.
    pub const ALL: [AuthzBasis; 8] = [
        AuthzBasis::NotEnforced,
        AuthzBasis::NoPolicy,
        AuthzBasis::DeniedByRule,
        AuthzBasis::NoAllowMatched,
        AuthzBasis::AllowedByRule,
        AuthzBasis::AllowedForSomeRequests,
        AuthzBasis::NoRuleMatched,
        AuthzBasis::CustomRule,
    ];

    /// The basis as JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthzBasis::NotEnforced => "not-enforced",
            AuthzBasis::NoPolicy => "no-policy",
            AuthzBasis::DeniedByRule => "deny-rule",
            AuthzBasis::NoAllowMatched => "no-allow-rule-matched",
            AuthzBasis::AllowedByRule => "allow-rule",
            AuthzBasis::AllowedForSomeRequests => "allow-rule-http",
            AuthzBasis::NoRuleMatched => "no-rule-matched",
            AuthzBasis::CustomRule => "custom-rule",
        }
    }

    /// Whether a policy of the workload took part (the connection is authz-protected).
    pub fn is_protected(self) -> bool {
        !matches!(self, AuthzBasis::NotEnforced | AuthzBasis::NoPolicy)
    }
}

/// Where a decision is taken. In ambient mode a connection routed through a waypoint is
/// decided twice: by the policies attached to the waypoint (`targetRefs`), which see the client,
/// and by the destination's own (selector) policies, which see the waypoint: "Traffic arriving at
/// the destination ztunnel will have the waypoint's identity because waypoint proxies do not
/// impersonate src identity on behalf of the client" (istio.io, docs/ambient/usage/
/// authorization-policy, "TCP Enforcement").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Enforcement {
    /// At the destination's proxy, from the client itself (no waypoint on the path).
    Destination,
    /// At the waypoint of route `n` (the analyzer's index of waypoint routes).
    Waypoint(u32),
    /// At the destination's proxy, from the waypoint of route `n`.
    BehindWaypoint(u32),
}

impl Enforcement {
    /// The waypoint route on the path, if any.
    pub fn route(self) -> Option<u32> {
        match self {
            Enforcement::Destination => None,
            Enforcement::Waypoint(r) | Enforcement::BehindWaypoint(r) => Some(r),
        }
    }

    /// `destination` or `waypoint`: the proxy that decides.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Waypoint(_) => "waypoint",
            _ => "destination",
        }
    }
}

/// A verdict with the deciding policy (index into the policy list) and rule, when one decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthzDecision {
    /// The outcome.
    pub verdict: AuthzVerdict,
    /// Why.
    pub basis: AuthzBasis,
    /// The deciding policy.
    pub policy: Option<u32>,
    /// The deciding rule of that policy (index into `spec.rules`).
    pub rule: Option<u32>,
    /// The proxy that decided, and the waypoint on the path.
    pub at: Enforcement,
}

impl AuthzDecision {
    /// Nothing enforces: the connection passes.
    pub const NOT_ENFORCED: AuthzDecision = AuthzDecision::plain(AuthzVerdict::Allow, AuthzBasis::NotEnforced);

    /// No policy applies: the connection passes.
    pub const NO_POLICY: AuthzDecision = AuthzDecision::plain(AuthzVerdict::Allow, AuthzBasis::NoPolicy);

    const fn plain(verdict: AuthzVerdict, basis: AuthzBasis) -> AuthzDecision {
        AuthzDecision { verdict, basis, policy: None, rule: None, at: Enforcement::Destination }
    }

    fn by(verdict: AuthzVerdict, basis: AuthzBasis, policy: u32, rule: usize) -> AuthzDecision {
        AuthzDecision { verdict, basis, policy: Some(policy), rule: Some(rule as u32), at: Enforcement::Destination }
    }

    /// The same decision, taken at `at`.
    pub fn taken_at(self, at: Enforcement) -> AuthzDecision {
        AuthzDecision { at, ..self }
    }
}

/// A connection through a waypoint: the waypoint decides first, then the destination's proxy
/// on what the waypoint forwards. A DENY at either closes it (the waypoint's first); else a
/// CUSTOM match leaves it to its provider; else it passes, explained by the waypoint's policy
/// when one decided, else by the destination's.
pub fn through_waypoint(at_waypoint: AuthzDecision, behind: AuthzDecision) -> AuthzDecision {
    for verdict in [AuthzVerdict::Deny, AuthzVerdict::Custom] {
        if let Some(d) = [at_waypoint, behind].into_iter().find(|d| d.verdict == verdict) {
            return d;
        }
    }
    if at_waypoint.basis.is_protected() || !behind.basis.is_protected() {
        at_waypoint
    } else {
        behind
    }
}

/// Of the decisions of the routes a client may take to the same port (several Services, say),
/// the most open: the first that allows, else the first left to a CUSTOM provider, else the
/// first denial. Reach is never under-reported: a port is open when some route opens it.
pub fn most_open(decisions: impl IntoIterator<Item = AuthzDecision>) -> Option<AuthzDecision> {
    let decisions: Vec<AuthzDecision> = decisions.into_iter().collect();
    [AuthzVerdict::Allow, AuthzVerdict::Custom, AuthzVerdict::Deny]
        .into_iter()
        .find_map(|v| decisions.iter().copied().find(|d| d.verdict == v))
}

/// Which kind of policy a rule is read for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// ALLOW: an unknowable condition (`connection.sni`) is taken to match, so reach is never
    /// under-reported.
    Allow,
    /// DENY and CUSTOM: an unknowable condition is taken not to match.
    Deny,
}

/// What the enforcing proxy sees on a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Plain TCP: ztunnel (always), or a sidecar on a port declared TCP (`tcp`, `tls`, `mongo`,
    /// `mysql`, `redis`, `https` Service port names).
    Tcp,
    /// HTTP may flow: a sidecar on a port declared HTTP, or left to protocol sniffing.
    Http,
}

/// Whether `rule` matches the connection as a whole.
///
/// TCP (concepts/security, "Authorization on TCP traffic"; the TCP task): an ALLOW rule using
/// HTTP-only fields never matches; a DENY rule applies with them ignored ("Istio ignores
/// HTTP-only fields"). HTTP: a rule with HTTP-only fields matches some requests only, so an
/// ALLOW rule lets the connection carry those requests and a DENY rule does not reject the
/// connection as a whole.
fn rule_matches(rule: &AuthzRule, c: &Connection, reading: Reading, layer: Layer) -> bool {
    match (reading, layer, rule.uses_http()) {
        (Reading::Allow, Layer::Tcp, true) | (Reading::Deny, Layer::Http, true) => false,
        _ => {
            (rule.from.is_empty() || rule.from.iter().any(|s| source_matches(s, c)))
                && (rule.to.is_empty() || rule.to.iter().any(|o| ports_hold(&o.ports, &o.not_ports, c.target.port)))
                && rule.when.iter().all(|w| condition_matches(w, c, reading))
        }
    }
}

fn principal(trust_domain: &str, identity: Option<(&str, &str)>) -> String {
    identity.map(|(ns, sa)| format!("{trust_domain}/ns/{ns}/sa/{sa}")).unwrap_or_default()
}

/// Positive list: empty (not set) or some pattern matches; negative list: none matches.
fn strings_hold(values: &[String], not_values: &[String], value: &str) -> bool {
    (values.is_empty() || values.iter().any(|p| string_matches(p, value)))
        && !not_values.iter().any(|p| string_matches(p, value))
}

fn ips_hold(values: &[IpNet], not_values: &[IpNet], inside: &dyn Fn(&IpNet) -> bool) -> bool {
    (values.is_empty() || values.iter().any(inside)) && !not_values.iter().any(inside)
}

fn ports_hold(values: &[u16], not_values: &[u16], port: u16) -> bool {
    (values.is_empty() || values.contains(&port)) && !not_values.contains(&port)
}

struct Connection<'a> {
    peer: &'a AuthzPeer<'a>,
    target: &'a AuthzTarget<'a>,
    principal: String,
    namespace: &'a str,
}

/// ISTIO-SECURITY-2021-004: without mTLS there is no principal and no namespace; positive
/// `principals`/`namespaces` never match and the negative ones compare an empty value, so they
/// match.
fn source_matches(s: &AuthzSource, c: &Connection) -> bool {
    strings_hold(&s.principals, &s.not_principals, &c.principal)
        && strings_hold(&s.namespaces, &s.not_namespaces, c.namespace)
        && ips_hold(&s.ip_blocks, &s.not_ip_blocks, c.peer.source_in)
        && ips_hold(&s.remote_ip_blocks, &s.not_remote_ip_blocks, c.peer.source_in)
}

fn condition_matches(cond: &AuthzCondition, c: &Connection, reading: Reading) -> bool {
    use ConditionValues as V;
    let string = |value: &str| match (&cond.values, &cond.not_values) {
        (V::Strings(v), V::Strings(n)) => strings_hold(v, n, value),
        _ => false,
    };
    let ip = |inside: &dyn Fn(&IpNet) -> bool| match (&cond.values, &cond.not_values) {
        (V::Ips(v), V::Ips(n)) => ips_hold(v, n, inside),
        _ => false,
    };
    match &cond.key {
        ConditionKey::SourceIp | ConditionKey::RemoteIp => ip(c.peer.source_in),
        ConditionKey::DestinationIp => ip(c.target.destination_in),
        ConditionKey::SourceNamespace => string(c.namespace),
        ConditionKey::SourcePrincipal => string(&c.principal),
        ConditionKey::DestinationPort => match (&cond.values, &cond.not_values) {
            (V::Ports(v), V::Ports(n)) => ports_hold(v, n, c.target.port),
            _ => false,
        },
        ConditionKey::ConnectionSni => reading == Reading::Allow,
        // Only a DENY reading gets here: the field is left out.
        ConditionKey::Http(_) => true,
    }
}

/// The first rule of `policy` that matches, if any.
fn first_match(policy: &AuthorizationPolicy, c: &Connection, reading: Reading, layer: Layer) -> Option<usize> {
    policy.rules.iter().position(|r| rule_matches(r, c, reading, layer))
}

/// The verdict of `policies[applying]` (the policies bound to the destination workload, in a
/// stable order) on one connection that the enforcing proxy reads at `layer`.
///
/// Reference: "the CUSTOM action is evaluated first, then the DENY action, and finally the ALLOW
/// action": "if there are any CUSTOM policies that match the request, evaluate and deny the
/// request if the evaluation result is deny; if there are any DENY policies that match the
/// request, deny the request; if there are no ALLOW policies for the workload, allow the
/// request; if any of the ALLOW policies match the request, allow the request; deny the
/// request". "AUDIT policies do not affect whether requests are allowed or denied". A CUSTOM
/// match is reported only when the rest would allow: whatever its provider says, a DENY match
/// or a missing ALLOW match denies.
pub fn decide(
    policies: &[AuthorizationPolicy],
    applying: &[u32],
    trust_domain: &str,
    peer: &AuthzPeer,
    target: &AuthzTarget,
    layer: Layer,
) -> AuthzDecision {
    let c = Connection {
        peer,
        target,
        principal: principal(trust_domain, peer.identity),
        namespace: peer.identity.map_or("", |(ns, _)| ns),
    };
    let of =
        |want: fn(&AuthzAction) -> bool| applying.iter().copied().filter(move |&i| want(&policies[i as usize].action));
    let is_custom = |a: &AuthzAction| matches!(a, AuthzAction::Custom(_));
    if of(|a| *a != AuthzAction::Audit).next().is_none() {
        return AuthzDecision::plain(AuthzVerdict::Allow, AuthzBasis::NoPolicy);
    }
    for i in of(|a| *a == AuthzAction::Deny) {
        if let Some(rule) = first_match(&policies[i as usize], &c, Reading::Deny, layer) {
            return AuthzDecision::by(AuthzVerdict::Deny, AuthzBasis::DeniedByRule, i, rule);
        }
    }
    let mut allows = of(|a| *a == AuthzAction::Allow).peekable();
    let base = if allows.peek().is_none() {
        AuthzDecision::plain(AuthzVerdict::Allow, AuthzBasis::NoRuleMatched)
    } else {
        let matched =
            allows.find_map(|i| first_match(&policies[i as usize], &c, Reading::Allow, layer).map(|r| (i, r)));
        match matched {
            Some((i, rule)) => {
                let basis = if policies[i as usize].rules[rule].uses_http() {
                    AuthzBasis::AllowedForSomeRequests
                } else {
                    AuthzBasis::AllowedByRule
                };
                AuthzDecision::by(AuthzVerdict::Allow, basis, i, rule)
            }
            None => AuthzDecision::plain(AuthzVerdict::Deny, AuthzBasis::NoAllowMatched),
        }
    };
    if base.verdict == AuthzVerdict::Allow {
        for i in of(is_custom) {
            if let Some(rule) = first_match(&policies[i as usize], &c, Reading::Deny, layer) {
                return AuthzDecision::by(AuthzVerdict::Custom, AuthzBasis::CustomRule, i, rule);
            }
        }
    }
    base
}

/// The TCP ports at which the verdict of `policies[applying]` may change, sorted: every port a
/// rule names starts a piece, and so does the port after it. Between two cuts every port gets
/// the same verdict, so evaluating one port per piece is exact.
pub fn port_cuts(policies: &[AuthorizationPolicy], applying: &[u32]) -> Vec<u16> {
    let mut cuts: Vec<u16> = applying
        .iter()
        .flat_map(|&i| policies[i as usize].rules.iter().flat_map(AuthzRule::ports))
        .flat_map(|p| [Some(p), p.checked_add(1)])
        .flatten()
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// The CIDRs the rules of `policies` compare the source address with, and those they compare
/// the destination address with: what tells sources and destinations apart by address.
pub fn cidrs(policies: &[AuthorizationPolicy]) -> (Vec<IpNet>, Vec<IpNet>) {
    let (mut source, mut destination) = (Vec::new(), Vec::new());
    for rule in policies.iter().flat_map(|p| &p.rules) {
        for s in &rule.from {
            source.extend(
                [&s.ip_blocks, &s.not_ip_blocks, &s.remote_ip_blocks, &s.not_remote_ip_blocks].into_iter().flatten(),
            );
        }
        for w in &rule.when {
            let target = match w.key {
                ConditionKey::SourceIp | ConditionKey::RemoteIp => &mut source,
                ConditionKey::DestinationIp => &mut destination,
                _ => continue,
            };
            for v in [&w.values, &w.not_values] {
                if let ConditionValues::Ips(ips) = v {
                    target.extend(ips);
                }
            }
        }
    }
    for list in [&mut source, &mut destination] {
        list.sort_unstable();
        list.dedup();
    }
    (source, destination)
}

/// Whether `values` is empty (a `when` entry needs values or notValues).
pub fn condition_is_empty(cond: &AuthzCondition) -> bool {
    cond.values.is_empty() && cond.not_values.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::tests::labels;

    fn policy(action: AuthzAction, rules: Vec<AuthzRule>) -> AuthorizationPolicy {
        AuthorizationPolicy {
            namespace: "foo".into(),
            name: "p".into(),
            binding: Binding::Selector(Labels::new()),
            action,
            rules,
        }
    }

    fn ports(p: &[u16]) -> AuthzOperation {
        AuthzOperation { ports: p.to_vec(), ..Default::default() }
    }

    fn to(ops: Vec<AuthzOperation>) -> AuthzRule {
        AuthzRule { to: ops, ..Default::default() }
    }

    fn from(s: AuthzSource) -> AuthzRule {
        AuthzRule { from: vec![s], ..Default::default() }
    }

    fn nowhere(_: &IpNet) -> bool {
        false
    }

    /// The verdict for a source `identity` on `port`, all policies applying.
    fn verdict(policies: &[AuthorizationPolicy], identity: Option<(&str, &str)>, port: u16) -> AuthzDecision {
        let applying: Vec<u32> = (0..policies.len() as u32).collect();
        let peer = AuthzPeer { identity, source_in: &nowhere };
        let target = AuthzTarget { port, destination_in: &nowhere };
        decide(policies, &applying, DEFAULT_TRUST_DOMAIN, &peer, &target, Layer::Tcp)
    }

    #[test]
    fn http_fields_on_http_ports_match_some_requests() {
        // On HTTP an ALLOW rule with methods lets those requests through; a DENY rule with
        // methods rejects those requests only, never the connection as a whole.
        let mut get = ports(&[80]);
        get.http_fields = vec!["methods".into()];
        let peer = AuthzPeer { identity: SLEEP, source_in: &nowhere };
        let target = AuthzTarget { port: 80, destination_in: &nowhere };
        let allow = [policy(AuthzAction::Allow, vec![to(vec![get.clone()])])];
        let d = decide(&allow, &[0], DEFAULT_TRUST_DOMAIN, &peer, &target, Layer::Http);
        assert_eq!((d.verdict, d.basis), (AuthzVerdict::Allow, AuthzBasis::AllowedForSomeRequests));
        let deny = [policy(AuthzAction::Deny, vec![to(vec![get])])];
        let d = decide(&deny, &[0], DEFAULT_TRUST_DOMAIN, &peer, &target, Layer::Http);
        assert_eq!(d.verdict, AuthzVerdict::Allow);
        assert_eq!(decide(&deny, &[0], DEFAULT_TRUST_DOMAIN, &peer, &target, Layer::Tcp).verdict, AuthzVerdict::Deny);
    }

    const SLEEP: Option<(&str, &str)> = Some(("foo", "sleep"));

    #[test]
    fn no_policy_allows_and_allow_without_rules_allows_nothing() {
        // "If there are no ALLOW policies for the workload, allow the request"; reference:
        // "an ALLOW policy with no rules ... allow-nothing".
        assert_eq!(verdict(&[], SLEEP, 80).basis, AuthzBasis::NoPolicy);
        let d = verdict(&[policy(AuthzAction::Allow, vec![])], SLEEP, 80);
        assert_eq!((d.verdict, d.basis), (AuthzVerdict::Deny, AuthzBasis::NoAllowMatched));
        // A `{}` rule matches everything: allow-all.
        let d = verdict(&[policy(AuthzAction::Allow, vec![AuthzRule::default()])], None, 80);
        assert_eq!((d.verdict, d.rule), (AuthzVerdict::Allow, Some(0)));
        // A DENY without rules denies nothing.
        assert_eq!(verdict(&[policy(AuthzAction::Deny, vec![])], SLEEP, 80).basis, AuthzBasis::NoRuleMatched);
    }

    #[test]
    fn deny_beats_allow_and_audit_decides_nothing() {
        let p = [
            policy(AuthzAction::Allow, vec![AuthzRule::default()]),
            policy(AuthzAction::Deny, vec![to(vec![ports(&[9000])])]),
            policy(AuthzAction::Audit, vec![AuthzRule::default()]),
        ];
        let d = verdict(&p, SLEEP, 9000);
        assert_eq!((d.verdict, d.policy, d.rule), (AuthzVerdict::Deny, Some(1), Some(0)));
        assert_eq!(verdict(&p, SLEEP, 9001).verdict, AuthzVerdict::Allow);
        // AUDIT alone is no policy.
        assert_eq!(verdict(&p[2..], SLEEP, 1).basis, AuthzBasis::NoPolicy);
    }

    #[test]
    fn tcp_task_http_fields() {
        // TCP task: an ALLOW rule for port 9000 with `methods: ["GET"]` no longer matches TCP
        // traffic (9000 rejected), the rule for 9001 still does.
        let mut get = ports(&[9000]);
        get.http_fields = vec!["methods".into()];
        let allow = [policy(AuthzAction::Allow, vec![to(vec![get.clone()]), to(vec![ports(&[9001])])])];
        assert_eq!(verdict(&allow, SLEEP, 9000).verdict, AuthzVerdict::Deny);
        assert_eq!(verdict(&allow, SLEEP, 9001).verdict, AuthzVerdict::Allow);
        // "Istio ignores the HTTP-only fields" of a DENY rule: GET on 9000 denies all of 9000.
        let deny = [policy(AuthzAction::Deny, vec![to(vec![get])])];
        assert_eq!(verdict(&deny, SLEEP, 9000).verdict, AuthzVerdict::Deny);
        assert_eq!(verdict(&deny, SLEEP, 9001).verdict, AuthzVerdict::Allow);
    }

    #[test]
    fn identity_needs_mtls() {
        // ISTIO-SECURITY-2021-004: plaintext has no principal: positive lists never match,
        // negative lists match.
        let ns = |n: &str| AuthzSource { namespaces: vec![n.into()], ..Default::default() };
        let not_ns = |n: &str| AuthzSource { not_namespaces: vec![n.into()], ..Default::default() };
        let allow = [policy(AuthzAction::Allow, vec![from(ns("foo"))])];
        assert_eq!(verdict(&allow, SLEEP, 80).verdict, AuthzVerdict::Allow);
        assert_eq!(verdict(&allow, None, 80).verdict, AuthzVerdict::Deny);
        let allow_not = [policy(AuthzAction::Allow, vec![from(not_ns("bar"))])];
        assert_eq!(verdict(&allow_not, None, 80).verdict, AuthzVerdict::Allow);
        // The documented fix: DENY notPrincipals ["*"] rejects every plaintext connection.
        let deny_plain = [policy(
            AuthzAction::Deny,
            vec![from(AuthzSource { not_principals: vec!["*".into()], ..Default::default() })],
        )];
        assert_eq!(verdict(&deny_plain, None, 80).verdict, AuthzVerdict::Deny);
        assert_eq!(verdict(&deny_plain, SLEEP, 80).verdict, AuthzVerdict::Allow);
        // Principals use the trust domain; prefix and suffix matches.
        let p = |s: &str| {
            [policy(AuthzAction::Allow, vec![from(AuthzSource { principals: vec![s.into()], ..Default::default() })])]
        };
        assert_eq!(verdict(&p("cluster.local/ns/foo/sa/sleep"), SLEEP, 80).verdict, AuthzVerdict::Allow);
        assert_eq!(verdict(&p("*/sa/sleep"), SLEEP, 80).verdict, AuthzVerdict::Allow);
        assert_eq!(verdict(&p("cluster.local/ns/bar/*"), SLEEP, 80).verdict, AuthzVerdict::Deny);
    }

    #[test]
    fn custom_is_never_an_allow() {
        let custom = policy(AuthzAction::Custom("ext".into()), vec![to(vec![ports(&[80])])]);
        let d = verdict(std::slice::from_ref(&custom), SLEEP, 80);
        assert_eq!((d.verdict, d.policy), (AuthzVerdict::Custom, Some(0)));
        assert_eq!(verdict(std::slice::from_ref(&custom), SLEEP, 81).verdict, AuthzVerdict::Allow);
        // A DENY match decides before the provider could allow.
        let p = [custom, policy(AuthzAction::Deny, vec![AuthzRule::default()])];
        assert_eq!(verdict(&p, SLEEP, 80).verdict, AuthzVerdict::Deny);
    }

    #[test]
    fn when_conditions_and_cuts() {
        let cond = AuthzCondition {
            key: ConditionKey::DestinationPort,
            values: ConditionValues::Ports(vec![]),
            not_values: ConditionValues::Ports(vec![22]),
        };
        let p = [policy(AuthzAction::Allow, vec![AuthzRule { when: vec![cond], ..Default::default() }])];
        assert_eq!(verdict(&p, SLEEP, 22).verdict, AuthzVerdict::Deny);
        assert_eq!(verdict(&p, SLEEP, 23).verdict, AuthzVerdict::Allow);
        assert_eq!(port_cuts(&p, &[0]), vec![22, 23]);
    }

    #[test]
    fn waypoint_then_destination() {
        // A DENY at either proxy closes the connection; CUSTOM comes next; an allow is
        // explained by the waypoint's policy when it decided.
        let allow_rule = AuthzDecision::by(AuthzVerdict::Allow, AuthzBasis::AllowedByRule, 0, 0);
        let deny = AuthzDecision::plain(AuthzVerdict::Deny, AuthzBasis::NoAllowMatched);
        let custom = AuthzDecision::by(AuthzVerdict::Custom, AuthzBasis::CustomRule, 1, 0);
        let none = AuthzDecision::NO_POLICY;
        assert_eq!(through_waypoint(allow_rule, deny), deny);
        assert_eq!(through_waypoint(deny, custom), deny);
        assert_eq!(through_waypoint(custom, allow_rule), custom);
        assert_eq!(through_waypoint(allow_rule, none), allow_rule);
        assert_eq!(through_waypoint(none, allow_rule), allow_rule);
        // Of several routes, the most open one.
        assert_eq!(most_open([deny, custom, allow_rule]), Some(allow_rule));
        assert_eq!(most_open([deny, custom]), Some(custom));
        assert_eq!(most_open([]), None);
        let at = deny.taken_at(Enforcement::BehindWaypoint(3));
        assert_eq!((at.at.route(), at.at.as_str()), (Some(3), "destination"));
    }

    #[test]
    fn selector_scope() {
        // Same namespace, or every namespace from the root namespace.
        let mut p = policy(AuthzAction::Allow, vec![]);
        p.binding = Binding::Selector(labels(&[("app", "x")]));
        assert!(p.selects("istio-system", "foo", &labels(&[("app", "x")])));
        assert!(!p.selects("istio-system", "bar", &labels(&[("app", "x")])));
        assert!(!p.selects("istio-system", "foo", &labels(&[("app", "y")])));
        p.namespace = "istio-system".into();
        assert!(p.selects("istio-system", "bar", &labels(&[("app", "x")])));
        p.binding = Binding::Targets(vec![]);
        assert!(!p.selects("istio-system", "bar", &labels(&[("app", "x")])));
    }
}
