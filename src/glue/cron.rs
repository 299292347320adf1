//! The scheduled handler (Cron Trigger): refreshes the live FX key. Thin:
//! it reads the vars, the config and the last good rates, fetches the feed,
//! and hands all of it to `fxfeed::refresh`, which decides.

use crate::base::fxfeed::{self, Settings, FX_LIVE_KEY, MAX_FEED_BYTES};
use crate::config;
use crate::schema::{self, FxRates, CONFIG_KEY};
use worker::{console_error, console_log, event, Env, Fetch, ScheduleContext, ScheduledEvent};

const KV_BINDING: &str = "BORDERLESS";

fn error_line(kind: &str, detail: &str) {
    console_error!(
        "{}",
        serde_json::json!({"level": "error", "event": kind, "detail": detail})
    );
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let vars = |name: &str| env.var(name).ok().map(|v| v.to_string());
    let settings = match Settings::from_vars(vars) {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(e) => return error_line("fx_settings_invalid", &e),
    };
    let kv = match env.kv(KV_BINDING) {
        Ok(kv) => kv,
        Err(e) => return error_line("fx_kv_unavailable", &e.to_string()),
    };
    let site = match kv.get(CONFIG_KEY).text().await {
        Ok(Some(text)) => match config::parse(&text) {
            Ok(c) => c.doc,
            Err(e) => return error_line("fx_config_invalid", &e.to_string()),
        },
        Ok(None) => return error_line("fx_config_invalid", "no config in KV"),
        Err(e) => return error_line("fx_kv_unavailable", &e.to_string()),
    };
    // The last good rates: the live value, else the bundle's.
    let mut last: Option<FxRates> = None;
    let bundle_fx = schema::bundle_key(&site.bundle, schema::KIND_FX, "rates");
    for key in [FX_LIVE_KEY, bundle_fx.as_str()] {
        if let Ok(Some(text)) = kv.get(key).text().await {
            last = serde_json::from_str(&text).ok();
            if last.is_some() {
                break;
            }
        }
    }
    let body = fetch(&settings.source).await;
    let now = js_sys::Date::now() as i64;
    let policy = settings.policy(&site);
    let (value, line) = fxfeed::refresh(
        &settings.source,
        body.as_deref().map_err(Clone::clone),
        settings.format,
        last.as_ref(),
        &policy,
        now,
    );
    let Some(value) = value else {
        return console_error!("{}", line);
    };
    let json = match serde_json::to_string(&value) {
        Ok(j) => j,
        Err(e) => return error_line("fx_write_failed", &e.to_string()),
    };
    match kv.put(FX_LIVE_KEY, json) {
        Ok(put) => match put.execute().await {
            Ok(()) => console_log!("{}", line),
            Err(e) => error_line("fx_write_failed", &e.to_string()),
        },
        Err(e) => error_line("fx_write_failed", &e.to_string()),
    }
}

/// The feed's body, bounded; an error for transport failures and non-2xx.
async fn fetch(url: &str) -> Result<String, String> {
    let url = worker::Url::parse(url).map_err(|e| e.to_string())?;
    let mut resp = Fetch::Url(url).send().await.map_err(|e| e.to_string())?;
    let status = resp.status_code();
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    let declared = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_FEED_BYTES) {
        return Err(format!("body of {} bytes", declared.unwrap_or(0)));
    }
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    if bytes.len() > MAX_FEED_BYTES {
        return Err(format!("body of {} bytes", bytes.len()));
    }
    String::from_utf8(bytes).map_err(|_| "body is not UTF-8".into())
}
