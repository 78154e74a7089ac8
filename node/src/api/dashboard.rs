//! The web dashboard (issue #13): the page and its three assets, served on the API port at
//! [`DASHBOARD_PATH`] without the token, from files embedded in the binary.
//!
//! The sources are in `node/dashboard/` (plain TypeScript, bundled by Vite); their build,
//! `node/dashboard/dist/`, is committed with fixed file names and embedded here, so that
//! `cargo build` needs no Node.js. `node/dashboard/build.sh --check` fails when `dist/` no longer
//! matches the sources.
//!
//! **Why without the token.** The files are the same in every node and hold no secret; the
//! page asks its user for the token and then calls the API like any other client (over POST
//! with the `Authorization` header, and over a WebSocket with the token as a subprotocol, see
//! [`crate::api::token::BEARER_SUBPROTOCOL`]). Serving the page is all that happens here: no
//! method runs without the token.
//!
//! **Why the strict headers.** The page holds a token that moves funds, so nothing but this
//! origin may run script in it or receive from it (`Content-Security-Policy`: scripts, styles,
//! images and connections from `'self'` only, plus the WebSocket of the same host; no inline
//! code, no plugins, no `<base>`), no other site may frame it and trick a click on Pay or
//! Settle (`frame-ancestors 'none'`), and no response is sniffed as another type. The files
//! have fixed names, so every load asks again (`no-cache`) and a new node's page is never
//! mixed with an old cached script.

use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};

/// Where the dashboard lives. `GET /` (other than a WebSocket upgrade) and `GET /dashboard`
/// redirect here.
pub const DASHBOARD_PATH: &str = "/dashboard/";

/// One embedded file.
struct Asset {
    /// Its name under [`DASHBOARD_PATH`] (the page itself is `index.html`, also served at
    /// [`DASHBOARD_PATH`]).
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// Every file of `node/dashboard/dist/`: `build.sh` fails when the build makes any other set.
const ASSETS: [Asset; 4] = [
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../dashboard/dist/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../dashboard/dist/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../dashboard/dist/app.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../dashboard/dist/favicon.svg"),
    },
];

/// The dashboard's answer to `request`, or `None` when the request is not for it (then it is
/// a JSON-RPC call and goes through the token check). The caller routes WebSocket upgrades,
/// which also `GET /`, to the API before asking.
pub fn respond(request: &HttpRequest) -> Option<HttpResponse> {
    let method = request.method();
    if method != http::Method::GET && method != http::Method::HEAD {
        return None;
    }
    let path = request.uri().path();
    if path == "/" || path == "/dashboard" {
        return Some(redirect(DASHBOARD_PATH));
    }
    let name = path.strip_prefix(DASHBOARD_PATH)?;
    let name = if name.is_empty() { "index.html" } else { name };
    let response = match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => file(asset, method == http::Method::HEAD, host(request)),
        None => not_found(),
    };
    Some(response)
}

/// The request's `Host`, if it is a plain `host[:port]` (letters, digits, `.`, `-`, `:`, and
/// the brackets of an IPv6 literal): it goes into the CSP, so nothing that could end a
/// directive (`;`, `,`, spaces) may pass.
fn host(request: &HttpRequest) -> Option<&str> {
    let host = request.headers().get(http::header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    plain.then_some(host)
}

/// The page's Content-Security-Policy. CSP Level 3's `'self'` already covers the WebSocket of
/// the same host, but older browsers read it as http(s) only, so the host's `ws:` and `wss:`
/// are named when the `Host` header gives them.
fn content_security_policy(host: Option<&str>) -> String {
    let sockets = host
        .map(|host| format!(" ws://{host} wss://{host}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

fn file(asset: &Asset, head: bool, host: Option<&str>) -> HttpResponse {
    let body = if head {
        HttpBody::empty()
    } else {
        HttpBody::new(http_body_util::Full::from(asset.body))
    };
    let mut response = HttpResponse::new(body);
    let headers = response.headers_mut();
    let set = |headers: &mut http::HeaderMap, name, value: &str| {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, http::header::CONTENT_TYPE, asset.content_type);
    set(
        headers,
        http::header::CONTENT_LENGTH,
        &asset.body.len().to_string(),
    );
    set(
        headers,
        http::header::CONTENT_SECURITY_POLICY,
        &content_security_policy(host),
    );
    set(headers, http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, http::header::X_FRAME_OPTIONS, "DENY");
    set(headers, http::header::REFERRER_POLICY, "no-referrer");
    set(headers, http::header::CACHE_CONTROL, "no-cache");
    response
}

fn redirect(to: &'static str) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::empty());
    *response.status_mut() = http::StatusCode::FOUND;
    response
        .headers_mut()
        .insert(http::header::LOCATION, http::HeaderValue::from_static(to));
    response
}

fn not_found() -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from("no such dashboard file\n"));
    *response.status_mut() = http::StatusCode::NOT_FOUND;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn get(method: http::Method, path: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut builder = http::Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(HttpBody::empty()).unwrap()
    }

    async fn body_of(response: HttpResponse) -> Vec<u8> {
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[tokio::test]
    async fn the_page_and_its_assets_are_served_with_their_types() {
        for (path, file, content_type) in [
            ("/dashboard/", "index.html", "text/html; charset=utf-8"),
            (
                "/dashboard/index.html",
                "index.html",
                "text/html; charset=utf-8",
            ),
            (
                "/dashboard/app.js",
                "app.js",
                "text/javascript; charset=utf-8",
            ),
            ("/dashboard/app.css", "app.css", "text/css; charset=utf-8"),
            ("/dashboard/favicon.svg", "favicon.svg", "image/svg+xml"),
        ] {
            let request = get(http::Method::GET, path, &[("host", "127.0.0.1:7150")]);
            let response = respond(&request).expect(path);
            assert_eq!(response.status(), http::StatusCode::OK, "{path}");
            assert_eq!(response.headers()["content-type"], content_type, "{path}");
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
            let embedded = ASSETS.iter().find(|a| a.name == file).unwrap().body;
            assert!(!embedded.is_empty(), "{file} is empty");
            assert_eq!(body_of(response).await, embedded, "{path}");
        }
    }

    #[tokio::test]
    async fn the_index_loads_only_what_is_embedded() {
        let index = String::from_utf8(ASSETS[0].body.to_vec()).unwrap();
        for reference in ["./app.js", "./app.css", "./favicon.svg"] {
            assert!(index.contains(reference), "index.html lacks {reference}");
        }
        assert!(
            !index.contains("<script>"),
            "inline script: the CSP blocks it"
        );
        assert!(!index.contains("style="), "inline style: the CSP blocks it");
    }

    #[test]
    fn the_policy_allows_only_this_origin_and_its_websocket() {
        let request = get(
            http::Method::GET,
            "/dashboard/",
            &[("host", "localhost:7150")],
        );
        let response = respond(&request).unwrap();
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(
            csp.starts_with("default-src 'self'; script-src 'self';"),
            "{csp}"
        );
        assert!(
            csp.contains("connect-src 'self' ws://localhost:7150 wss://localhost:7150;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
    }

    #[test]
    fn a_host_that_could_inject_a_directive_is_left_out_of_the_policy() {
        for host in ["evil; script-src *", "a b", "x,y"] {
            let request = get(http::Method::GET, "/dashboard/", &[("host", host)]);
            let response = respond(&request).unwrap();
            let csp = response.headers()["content-security-policy"]
                .to_str()
                .unwrap();
            assert!(csp.contains("connect-src 'self';"), "{host}: {csp}");
            assert!(!csp.contains("evil"), "{csp}");
        }
    }

    #[test]
    fn the_root_redirects_to_the_dashboard() {
        for path in ["/", "/dashboard"] {
            let response = respond(&get(http::Method::GET, path, &[])).unwrap();
            assert_eq!(response.status(), http::StatusCode::FOUND, "{path}");
            assert_eq!(response.headers()["location"], DASHBOARD_PATH);
        }
    }

    #[tokio::test]
    async fn other_requests_are_not_the_dashboards() {
        assert!(respond(&get(http::Method::POST, "/", &[])).is_none());
        assert!(respond(&get(http::Method::POST, "/dashboard/", &[])).is_none());
        assert!(respond(&get(http::Method::GET, "/metrics", &[])).is_none());
        assert!(respond(&get(http::Method::GET, "/dashboardx", &[])).is_none());
        let missing = respond(&get(http::Method::GET, "/dashboard/../api.token", &[])).unwrap();
        assert_eq!(missing.status(), http::StatusCode::NOT_FOUND);
        let head = respond(&get(http::Method::HEAD, "/dashboard/app.js", &[])).unwrap();
        assert_eq!(head.status(), http::StatusCode::OK);
        assert_eq!(
            head.headers()["content-length"],
            ASSETS[1].body.len().to_string()
        );
        assert!(body_of(head).await.is_empty());
    }
}
