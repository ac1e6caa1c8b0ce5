//! Request paths built from validated, percent-encoded segments, never by formatting user
//! input into a string: a namespace such as `default/secrets?x=` must not become a path to
//! another resource.

/// Why a name cannot reach a request URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName(pub String);

/// The API server's rule for namespace names: an RFC 1123 label — at most 63 characters,
/// lowercase letters, digits and `-`, starting and ending with a letter or digit.
/// <https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names>
pub fn validate_namespace(name: &str) -> Result<(), InvalidName> {
    let bad = |why: &str| {
        Err(InvalidName(format!("invalid namespace {name:?}: {why} (namespaces are RFC 1123 labels, like kubectl's)")))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 63 {
        return bad("it is longer than 63 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return bad("only lowercase letters, digits and '-' are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return bad("it must start and end with a letter or digit");
    }
    Ok(())
}

/// `/seg1/seg2/…`, each segment percent-encoded (everything but RFC 3986 unreserved
/// characters), so no segment can add a `/`, a query or a fragment. Empty, `.` and `..`
/// segments are refused: servers and proxies normalize them away.
pub fn api_path<S: AsRef<str>>(segments: &[S]) -> Result<String, InvalidName> {
    let mut path = String::new();
    for segment in segments {
        let segment = segment.as_ref();
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(InvalidName(format!("{segment:?} cannot be a path segment")));
        }
        path.push('/');
        for b in segment.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                path.push(b as char);
            } else {
                path.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_as_the_api_server_accepts_them() {
        for good in ["default", "kube-system", "a", "0", "a-b-c", &"x".repeat(63)] {
            assert_eq!(validate_namespace(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "default/secrets?x=",
            "..",
            ".",
            "Shop",
            "a_b",
            "-a",
            "a-",
            "a.b",
            "a b",
            "ns%2Fsecrets",
            &"x".repeat(64),
        ] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(api_path(&["api", "v1", "namespaces", "shop", "pods"]).unwrap(), "/api/v1/namespaces/shop/pods");
        assert_eq!(api_path(&["api", "v1", "namespaces", "a/b?c=#"]).unwrap(), "/api/v1/namespaces/a%2Fb%3Fc%3D%23");
        assert!(api_path(&["api", ".."]).is_err());
        assert!(api_path(&["api", ""]).is_err());
    }

    fn decode(segment: &str) -> String {
        let bytes = segment.as_bytes();
        let (mut out, mut i) = (Vec::new(), 0);
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&segment[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    proptest::proptest! {
        /// Whatever the segments, the path has exactly those segments back, and nothing else:
        /// no extra `/`, no query, no fragment.
        #[test]
        fn a_path_has_exactly_its_segments(segments in proptest::collection::vec(".{0,12}", 1..6)) {
            match api_path(&segments) {
                Ok(path) => {
                    proptest::prop_assert!(!path.contains(['?', '#']));
                    let parts: Vec<&str> = path.split('/').skip(1).collect();
                    proptest::prop_assert_eq!(parts.len(), segments.len());
                    for (part, segment) in parts.iter().zip(&segments) {
                        proptest::prop_assert_eq!(&decode(part), segment);
                    }
                }
                Err(_) => proptest::prop_assert!(segments.iter().any(|s| s.is_empty() || s == "." || s == "..")),
            }
        }

        /// Whatever `-n` says, a namespace that passes validation names no other resource: every
        /// list path has the resource's own shape, and none names Secrets.
        #[test]
        fn no_namespace_reaches_another_resource(namespace in "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?|[a-z0-9./?#%=&-]{0,20}|\\PC{0,20}") {
            if validate_namespace(&namespace).is_err() {
                return Ok(());
            }
            for resource in crate::live::RESOURCES {
                let mut segments = resource.base(resource.versions[0]);
                segments.extend(["namespaces", namespace.as_str(), resource.plural]);
                let path = api_path(&segments).unwrap();
                proptest::prop_assert_eq!(path.split('/').count(), segments.len() + 1);
                let tail = format!("/namespaces/{}/{}", namespace, resource.plural);
                proptest::prop_assert!(path.ends_with(&tail), "{} does not end with {}", path, tail);
                proptest::prop_assert!(!path.split('/').any(|s| s == "secrets"));
            }
        }
    }
}
