//! rust_tokio serves the lab's service contract (docs/service-contract.md) with hyper 0.14 on
//! tokio's multi-threaded runtime: every connection is one task (a future) that the runtime's
//! `--threads` worker threads run and steal from each other. `gateway.rs` holds /gateway, the
//! one endpoint that calls another service. Crates: tokio, hyper, futures-util, serde_json,
//! all as Debian packages them (README.md).

mod gateway;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{select, Either};
use hyper::body::HttpBody;
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use hyper::server::conn::Http;
use hyper::service::service_fn;
use hyper::{Body, Method, Request, Response, StatusCode, Version};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::Instant;

const MAX_HEADER_SECTION: usize = 8192; // request line + headers + blank line, in bytes
const MAX_BODY: u64 = 1 << 20; // 1 MiB
const MAX_COMPUTE_N: u64 = 10_000_000;
pub const MAX_SLEEP_MS: u64 = 60_000;
const SERVER_NAME: &str = "concurrency-lab";

struct Options {
    host: String,
    port: u16,
    threads: usize,
    idle_timeout: Duration,
    downstream: Option<String>,
    downstream_pool: usize,
}

const USAGE: &str = "usage: rust_tokio [--host H] [--port P] [--threads N] [--idle-timeout S] \
                     [--downstream HOST:PORT] [--downstream-pool N]\n\
                     Serves the lab's service contract (docs/service-contract.md) with hyper on \
                     tokio's multi-threaded runtime (N worker threads).";

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        host: "127.0.0.1".into(),
        port: 8080,
        threads: 1,
        idle_timeout: Duration::from_secs(30),
        downstream: None,
        downstream_pool: 256,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |what: &str| -> Result<u64, String> {
            value.parse::<u64>().map_err(|_| format!("{what} needs a whole number, got '{value}'"))
        };
        match flag.as_str() {
            "--host" => options.host = value.clone(),
            "--port" => {
                options.port = u16::try_from(number("--port")?).map_err(|_| "--port is at most 65535")?
            }
            "--threads" => options.threads = number("--threads")?.max(1) as usize,
            "--idle-timeout" => options.idle_timeout = Duration::from_secs(number("--idle-timeout")?),
            "--downstream" => options.downstream = Some(value.clone()),
            "--downstream-pool" => options.downstream_pool = number("--downstream-pool")? as usize,
            _ => return Err(format!("unknown option '{flag}'\n{USAGE}")),
        }
    }
    if options.downstream_pool == 0 {
        return Err("--downstream-pool must be at least 1".into());
    }
    Ok(options)
}

fn main() {
    let options = parse_options().unwrap_or_else(|message| {
        eprintln!("rust_tokio: {message}");
        std::process::exit(2);
    });
    let downstream = match &options.downstream {
        None => None,
        Some(address) => Some(gateway::Downstream::new(address, options.downstream_pool).unwrap_or_else(
            |message| {
                eprintln!("rust_tokio: --downstream: {message}");
                std::process::exit(2);
            },
        )),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("rust_tokio: cannot start the runtime: {e}");
            std::process::exit(1);
        });
    let state = Arc::new(State { downstream });
    if let Err(message) = runtime.block_on(serve(&options, state)) {
        eprintln!("rust_tokio: {message}");
        std::process::exit(1);
    }
    // Dropping the runtime drops every connection task, which closes its socket; a worker busy
    // in /compute gets a second to notice.
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// What every request handler shares: the downstream client (None without --downstream).
pub struct State {
    downstream: Option<gateway::Downstream>,
}

/// Accepts until SIGINT or SIGTERM; each connection becomes a task of its own.
async fn serve(options: &Options, state: Arc<State>) -> Result<(), String> {
    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.host, options.port))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {address} (async_task, {} threads)", options.threads);

    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut http = Http::new();
    // hyper's smallest read buffer limit is exactly the contract's header limit: a head that
    // does not fit in 8192 bytes gets hyper's own 431.
    http.http1_only(true).max_buf_size(MAX_HEADER_SECTION);
    let stop = Box::pin(async move {
        let interrupted = Box::pin(interrupt.recv());
        let terminated = Box::pin(terminate.recv());
        select(interrupted, terminated).await;
    });
    tokio::pin!(stop);
    loop {
        match select(Box::pin(listener.accept()), stop.as_mut()).await {
            Either::Left((Ok((stream, _peer)), _)) => {
                let _ = stream.set_nodelay(true); // responses are small; pipelined ones must not wait
                tokio::spawn(serve_connection(stream, http.clone(), state.clone(), options.idle_timeout));
            }
            // Out of file descriptors, usually: back off instead of spinning.
            Either::Left((Err(_), _)) => tokio::time::sleep(Duration::from_millis(10)).await,
            Either::Right(_) => return Ok(()),
        }
    }
}

/// When a connection last finished something, and how many of its requests are being served.
/// hyper 0.14 has no idle timeout for keep-alive connections (only a header read timeout that
/// starts at a request's first byte), so each connection keeps this and a timer of its own.
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

/// Counts a request as in flight while it lives (its handler's future holds it).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap() = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves one connection until the client closes it, hyper closes it (Connection: close, a
/// protocol error) or it has waited `idle_timeout` for its next request.
async fn serve_connection(stream: TcpStream, http: Http, state: Arc<State>, idle_timeout: Duration) {
    let activity = Arc::new(Activity { in_flight: AtomicUsize::new(0), last: Mutex::new(Instant::now()) });
    let service = {
        let activity = activity.clone();
        service_fn(move |request| {
            let in_flight = InFlight::start(&activity);
            let state = state.clone();
            async move {
                let response = handle(request, &state).await;
                drop(in_flight);
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection = http.serve_connection(stream, service);
    tokio::pin!(connection);
    loop {
        let deadline = *activity.last.lock().unwrap() + idle_timeout;
        match select(connection.as_mut(), Box::pin(tokio::time::sleep_until(deadline))).await {
            Either::Left(_) => return, // closed (errors here are the client's: nothing to do)
            Either::Right(_) => {
                let idle = activity.in_flight.load(Ordering::SeqCst) == 0
                    && activity.last.lock().unwrap().elapsed() >= idle_timeout;
                if idle {
                    // An idle HTTP/1 connection closes at once, without a response.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                    return;
                }
            }
        }
    }
}

pub fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Set explicitly so a HEAD answer carries the GET's length (hyper drops the body for HEAD).
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    *response.body_mut() = Body::from(body);
    response
}

/// The contract's error answer: text/plain, the status's text as its body.
pub fn reply_error(status: StatusCode, close_after: bool) -> Response<Body> {
    let text = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Payload Too Large",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let mut response = reply(status, "text/plain", text.to_string());
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    if close_after {
        // hyper closes the connection after a response that says so.
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Answers one request; says `Connection: close` when the client asked for it (hyper then
/// closes after the response, but does not say so itself).
async fn handle(request: Request<Body>, state: &State) -> Response<Body> {
    let close = asks_to_close(&request);
    let mut response = route(request, state).await;
    if close {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// `Connection: close`, or HTTP/1.0 without `Connection: keep-alive`.
fn asks_to_close(request: &Request<Body>) -> bool {
    let has_token = |token: &str| {
        request.headers().get_all(CONNECTION).iter().filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    has_token("close") || (request.version() == Version::HTTP_10 && !has_token("keep-alive"))
}

async fn route(request: Request<Body>, state: &State) -> Response<Body> {
    let uri = request.uri();
    // hyper hands over absolute-form (http://x/plaintext) and '*' too; the contract accepts
    // origin-form only, and no malformed %-escape in the path ("Paths").
    if uri.scheme().is_some() || uri.authority().is_some() || !uri.path().starts_with('/')
        || has_malformed_escape(uri.path().as_bytes())
    {
        return reply_error(StatusCode::BAD_REQUEST, true);
    }
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let method = request.method().clone();
    if let Err(response) = drain_body(request.into_body()).await {
        return response;
    }
    let route = match path.as_str() {
        "/plaintext" | "/json" | "/compute" | "/sleep" | "/gateway" => path.as_str(),
        _ => return reply_error(StatusCode::NOT_FOUND, false),
    };
    if method != Method::GET && method != Method::HEAD {
        return reply_error(StatusCode::METHOD_NOT_ALLOWED, false);
    }
    match route {
        "/plaintext" => reply(StatusCode::OK, "text/plain", "Hello, World!".into()),
        "/json" => {
            let body = serde_json::json!({"message": "Hello, World!"}).to_string();
            reply(StatusCode::OK, "application/json", body)
        }
        "/compute" => match bounded_param(&query, "n", MAX_COMPUTE_N) {
            // On this worker thread, like any CPU work in a task: its other tasks wait (or
            // are stolen by an idle worker) until it is done.
            Some(n) => reply(StatusCode::OK, "text/plain", compute(n).to_string()),
            None => reply_error(StatusCode::BAD_REQUEST, false),
        },
        "/sleep" => match bounded_param(&query, "ms", MAX_SLEEP_MS) {
            Some(ms) => {
                // A timer: the task is parked and the worker runs other tasks.
                tokio::time::sleep(Duration::from_millis(ms)).await;
                reply(StatusCode::OK, "text/plain", ms.to_string())
            }
            None => reply_error(StatusCode::BAD_REQUEST, false),
        },
        _ => gateway::handle(&query, state.downstream.as_ref()).await,
    }
}

/// Reads and drops a request body of up to 1 MiB, so the next pipelined request stays framed;
/// a larger one (declared, or a chunked one that grows past it) is answered 413 + close.
async fn drain_body(mut body: Body) -> Result<(), Response<Body>> {
    let too_large = || reply_error(StatusCode::PAYLOAD_TOO_LARGE, true);
    if body.size_hint().lower() > MAX_BODY {
        return Err(too_large());
    }
    let mut received = 0u64;
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(bytes) => {
                received += bytes.len() as u64;
                if received > MAX_BODY {
                    return Err(too_large());
                }
            }
            Err(_) => return Err(reply_error(StatusCode::BAD_REQUEST, true)),
        }
    }
    Ok(())
}

/// A '%' not followed by two hex digits.
fn has_malformed_escape(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit())
    })
}

/// The form-decoded value (`%XX` and `+` as a space) of the first `name=value` pair in the raw
/// query whose raw name is `name` ("Query parameters" in the contract); None if there is none,
/// it has no '=', or its value has a malformed escape.
pub fn first_query_value(query: &str, name: &str) -> Option<Vec<u8>> {
    let pair = query.split('&').find(|pair| pair.split('=').next() == Some(name))?;
    let (_, value) = pair.split_once('=')?;
    let value = value.as_bytes();
    if has_malformed_escape(value) {
        return None;
    }
    let hex = |b: u8| (b as char).to_digit(16).unwrap() as u8;
    let mut decoded = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'%' => {
                decoded.push(hex(value[i + 1]) << 4 | hex(value[i + 2]));
                i += 3;
            }
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            b => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    Some(decoded)
}

/// Whether any pair of the raw query has the raw name `name` (an optional parameter is absent
/// only when none does).
pub fn has_query_name(query: &str, name: &str) -> bool {
    query.split('&').any(|pair| pair.split('=').next() == Some(name))
}

/// A query value that is one or more decimal digits (leading zeros allowed, any length)
/// and at most `max`, compared without overflow.
pub fn bounded_param(query: &str, name: &str, max: u64) -> Option<u64> {
    let value = first_query_value(query, name)?;
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = &value[value.iter().position(|&b| b != b'0').unwrap_or(value.len())..];
    if digits.len() > max.to_string().len() {
        return None;
    }
    let number = digits.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    (number <= max).then_some(number)
}

/// `n` steps of Marsaglia's xorshift32 from the contract's seed, in wrapping u32 arithmetic
/// (`<<` on u32 drops the high bits; `>>` is logical).
fn compute(n: u64) -> u32 {
    let mut x: u32 = 2_463_534_242;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
    }
    x
}
