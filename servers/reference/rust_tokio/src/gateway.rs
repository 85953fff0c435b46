//! /gateway (docs/service-contract.md, "/gateway"): K calls to the downstream's /delay, all at
//! once (`try_join_all`) or one after another, raced against the optional deadline with
//! `tokio::time::timeout`. A call is a future: when the deadline passes, or another call fails,
//! the calls still outstanding are dropped, and hyper closes the connection of a dropped call
//! (it never returns to the pool), so the downstream sees the caller leave.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::try_join_all;
use hyper::body::HttpBody;
use hyper::client::HttpConnector;
use hyper::{Body, Client, Response, StatusCode, Uri};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::{bounded_param, first_query_value, has_query_name, reply, reply_error, MAX_SLEEP_MS};

const MAX_FANOUT: u64 = 64;
const MAX_DEADLINE_MS: u64 = 600_000;
const MAX_CALL_BODY: usize = 4096; // a /delay answer is ~20 bytes; anything longer is not one

/// The downstream service and one hyper client (one connection pool) for every request.
/// hyper 0.14's client bounds only its idle connections, not the open ones, so a semaphore
/// of `--downstream-pool` permits bounds the calls in flight (and so the connections in use):
/// a call that finds none free waits for one, inside its request's deadline.
pub struct Downstream {
    base: String,
    client: Client<HttpConnector>,
    slots: Arc<Semaphore>,
}

/// A call failed: refused, broken, not 200, or not `{"i":..,"ms":..}`. The answer is 502.
struct CallFailed;

impl Downstream {
    pub fn new(address: &str, pool: usize) -> Result<Downstream, String> {
        let (host, port) = address.rsplit_once(':').ok_or("needs HOST:PORT")?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(format!("needs HOST:PORT, got '{address}'"));
        }
        let base = format!("http://{address}");
        base.parse::<Uri>().map_err(|e| format!("'{address}': {e}"))?;
        let client = Client::builder().pool_max_idle_per_host(pool).build_http();
        Ok(Downstream { base, client, slots: Arc::new(Semaphore::new(pool)) })
    }

    /// One GET /delay?ms=ms&i=i, its answer parsed into (i, ms).
    async fn call(&self, i: u64, ms: u64) -> Result<(u64, u64), CallFailed> {
        let _slot = self.slots.acquire().await.map_err(|_| CallFailed)?;
        let uri: Uri = format!("{}/delay?ms={ms}&i={i}", self.base).parse().map_err(|_| CallFailed)?;
        let response = self.client.get(uri).await.map_err(|_| CallFailed)?;
        if response.status() != StatusCode::OK {
            return Err(CallFailed);
        }
        // Read the whole (short) body, so hyper returns the connection to the pool.
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.data().await {
            bytes.extend_from_slice(&chunk.map_err(|_| CallFailed)?);
            if bytes.len() > MAX_CALL_BODY {
                return Err(CallFailed);
            }
        }
        let answer: Value = serde_json::from_slice(&bytes).map_err(|_| CallFailed)?;
        match (answer["i"].as_u64(), answer["ms"].as_u64()) {
            (Some(i), Some(ms)) => Ok((i, ms)),
            _ => Err(CallFailed),
        }
    }
}

struct GatewayParams {
    fanout: u64,
    ms: u64,
    sequential: bool,
    deadline: Option<Duration>,
}

/// /gateway's query by the contract's rule; None when any value is bad.
fn parse_params(query: &str) -> Option<GatewayParams> {
    let fanout = bounded_param(query, "fanout", MAX_FANOUT).filter(|&k| k >= 1)?;
    let ms = bounded_param(query, "ms", MAX_SLEEP_MS)?;
    let sequential = if has_query_name(query, "mode") {
        match first_query_value(query, "mode")?.as_slice() {
            b"parallel" => false,
            b"sequential" => true,
            _ => return None,
        }
    } else {
        false
    };
    let deadline = if has_query_name(query, "deadline_ms") {
        let ms = bounded_param(query, "deadline_ms", MAX_DEADLINE_MS).filter(|&d| d >= 1)?;
        Some(Duration::from_millis(ms))
    } else {
        None
    };
    Some(GatewayParams { fanout, ms, sequential, deadline })
}

pub async fn handle(query: &str, downstream: Option<&Downstream>) -> Response<Body> {
    let params = match parse_params(query) {
        Some(params) => params,
        None => return reply_error(StatusCode::BAD_REQUEST, false),
    };
    let downstream = match downstream {
        Some(downstream) => downstream,
        None => return reply_error(StatusCode::BAD_GATEWAY, false),
    };
    let GatewayParams { fanout, ms, sequential, deadline } = params;
    let calls = async move {
        if sequential {
            let mut answers = Vec::with_capacity(fanout as usize);
            for i in 0..fanout {
                answers.push(downstream.call(i, ms).await?);
            }
            Ok(answers)
        } else {
            // The first failure drops (and so cancels) the calls still running.
            try_join_all((0..fanout).map(|i| downstream.call(i, ms))).await
        }
    };
    let outcome = match deadline {
        Some(deadline) => match tokio::time::timeout(deadline, calls).await {
            Ok(outcome) => outcome,
            Err(_) => return reply_error(StatusCode::GATEWAY_TIMEOUT, false),
        },
        None => calls.await,
    };
    match outcome {
        Ok(answers) => {
            let calls: Vec<Value> = answers.iter().map(|&(i, ms)| json!({"i": i, "ms": ms})).collect();
            let mode = if sequential { "sequential" } else { "parallel" };
            let body = json!({"fanout": fanout, "mode": mode, "calls": calls}).to_string();
            reply(StatusCode::OK, "application/json", body)
        }
        Err(CallFailed) => reply_error(StatusCode::BAD_GATEWAY, false),
    }
}
