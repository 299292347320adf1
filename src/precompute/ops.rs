//! The operations subcommands of `borderless`: `fx` (push validated FX
//! rates to the live key), `rollback`, `report` and `simulate`.

use super::kv;
use super::publish::Target;
use super::report::{Options as ReportOptions, Tally};
use super::report_md::markdown;
use super::simulate;
use crate::base::fxfeed::{self, Format, Policy, FX_LIVE_KEY, MAX_FEED_BYTES};
use crate::config;
use crate::schema::{bundle_key, Config, FxRates, Personalization, CONFIG_KEY, KIND_FX};
use clap::{Args, Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum Ops {
    /// Fetch FX rates (ECB XML or a JSON map), validate them and write the live FX key.
    Fx(Fx),
    /// Flip the config pointer back to the bundle live before the current one.
    Rollback {
        #[command(flatten)]
        kv: KvTarget,
        /// Check only; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Experiment report from exposure and conversion lines (JSON lines, CSV or TSV; `.gz` too).
    Report(Report),
    /// Write a simulated exposure/conversion log (JSON lines) with a known effect.
    Simulate(Simulate),
}

/// Where KV is: wrangler's binding, environment, local or remote.
#[derive(Args, Clone)]
pub struct KvTarget {
    /// Local (Miniflare) KV of `wrangler dev`.
    #[arg(long)]
    local: bool,
    /// wrangler environment (`--env`).
    #[arg(long)]
    env: Option<String>,
    #[arg(long, default_value = "BORDERLESS")]
    binding: String,
    /// wrangler executable (default: $BORDERLESS_WRANGLER, ./node_modules/.bin/wrangler, wrangler).
    #[arg(long)]
    wrangler: Option<PathBuf>,
}

impl KvTarget {
    pub fn target(&self) -> Target {
        Target {
            local: self.local,
            env: self.env.clone(),
            binding: self.binding.clone(),
            wrangler: self.wrangler.clone(),
        }
    }
}

#[derive(Args)]
pub struct Fx {
    /// Feed URL (http/https) or file (`-`: standard input).
    #[arg(long, default_value = fxfeed::ECB_DAILY_URL)]
    source: String,
    /// auto, ecb or json.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Site config (its currencies); default: the live config in KV.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The last good rates (FxRates JSON); default: the live FX key, else the
    /// bundle's (with --out and no --last: no jump check).
    #[arg(long)]
    last: Option<PathBuf>,
    /// Oldest feed date accepted, hours.
    #[arg(long, default_value_t = Policy::DEFAULT_MAX_AGE_HOURS)]
    max_age_hours: u32,
    /// Largest move of a rate against the last good set (share).
    #[arg(long, default_value_t = Policy::DEFAULT_MAX_JUMP)]
    max_jump: f64,
    /// Accept larger moves.
    #[arg(long)]
    force: bool,
    /// Write the value to this file instead of KV.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Validate only.
    #[arg(long)]
    dry_run: bool,
    /// The check's time (RFC 3339; default: now).
    #[arg(long)]
    now: Option<String>,
    #[command(flatten)]
    kv: KvTarget,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutFormat {
    Markdown,
    Json,
}

#[derive(Args)]
pub struct Report {
    /// Log files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Site config (or its `personalization` object): arms, weights, controls, holdout.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "markdown")]
    format: OutFormat,
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Countries listed per experiment.
    #[arg(long, default_value_t = 10)]
    countries: usize,
    /// The shop's currency (labels revenue).
    #[arg(long, default_value = "GBP")]
    currency: String,
    #[arg(short, long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct Simulate {
    #[arg(
        long,
        default_value = "../shared/data/online-retail/online_retail.csv.gz"
    )]
    retail: PathBuf,
    #[arg(long, default_value_t = 200_000)]
    visitors: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Relative conversion lift of the treatment arm.
    #[arg(long, default_value_t = 0.05)]
    lift: f64,
    #[arg(long, default_value_t = 0.1)]
    holdout: f64,
    #[arg(long, default_value_t = 0.08)]
    base_rate: f64,
    /// Share of treatment visitors whose lines are lost (plants a sample-ratio mismatch).
    #[arg(long, default_value_t = 0.0)]
    lose_treatment: f64,
    /// Output JSON lines (default: stdout).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Also write the personalization config the simulation ran with.
    #[arg(long)]
    config_out: Option<PathBuf>,
}

pub fn run(op: Ops) -> Result<(), String> {
    match op {
        Ops::Fx(f) => fx(f),
        Ops::Rollback { kv: k, dry_run } => {
            let r = kv::rollback(&k.target(), dry_run)?;
            let verb = if dry_run {
                "would roll back"
            } else {
                "rolled back"
            };
            eprintln!("{verb}: bundle {} → {}", r.from, r.to);
            Ok(())
        }
        Ops::Report(r) => report(r),
        Ops::Simulate(s) => simulate_cmd(s),
    }
}

fn read_text(p: &Path, limit: usize) -> Result<String, String> {
    let mut text = String::new();
    let reader: Box<dyn Read> = if p.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?)
    };
    reader
        .take(limit as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(text)
}

/// The feed body, or why it could not be had (the refresh logs it).
fn fetch(source: &str) -> Result<String, String> {
    if !(source.starts_with("https://") || source.starts_with("http://")) {
        return read_text(Path::new(source), MAX_FEED_BYTES);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut resp = agent.get(source).call().map_err(|e| e.to_string())?;
    resp.body_mut()
        .with_config()
        .limit(MAX_FEED_BYTES as u64 + 1)
        .read_to_string()
        .map_err(|e| e.to_string())
}

fn fx(f: Fx) -> Result<(), String> {
    let format = Format::parse(&f.format).ok_or(format!("--format {:?}", f.format))?;
    let t = f.kv.target();
    let cfg_text = match &f.config {
        Some(p) => read_text(p, crate::schema::MAX_CONFIG_BYTES)?,
        None => kv::get(CONFIG_KEY, &t)?.ok_or("no config in KV: pass --config")?,
    };
    let cfg = config::parse(&cfg_text)
        .map_err(|e| format!("config: {e}"))?
        .doc;
    let mut policy = Policy::for_config(&cfg);
    policy.max_age_hours = f.max_age_hours;
    policy.max_jump = f.max_jump;
    policy.force = f.force;
    let last: Option<FxRates> = match &f.last {
        Some(p) => Some(parse_json(&read_text(p, MAX_FEED_BYTES)?, p)?),
        None if f.out.is_some() => None,
        None => last_good(&cfg, &t)?,
    };
    let now = match &f.now {
        Some(s) => crate::base::time::parse_rfc3339(s).ok_or(format!("--now {s:?}"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    };
    let body = fetch(&f.source);
    let (value, line) = fxfeed::refresh(
        &f.source,
        body.as_deref().map_err(Clone::clone),
        format,
        last.as_ref(),
        &policy,
        now,
    );
    eprintln!("{line}");
    let value = value.ok_or("the feed was refused; the live rates are unchanged")?;
    let json = serde_json::to_string(&value).map_err(|e| e.to_string())?;
    match (&f.out, f.dry_run) {
        (_, true) => eprintln!("dry run: nothing written"),
        (Some(p), _) => {
            std::fs::write(p, json + "\n").map_err(|e| format!("{}: {e}", p.display()))?
        }
        (None, _) => {
            kv::put(FX_LIVE_KEY, &json, &t)?;
            eprintln!(
                "wrote {FX_LIVE_KEY} ({} rates, base {})",
                value.rates.len(),
                value.base
            );
        }
    }
    Ok(())
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &Path) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("{}: {e}", what.display()))
}

/// The live FX value, else the live bundle's rates.
fn last_good(cfg: &Config, t: &Target) -> Result<Option<FxRates>, String> {
    let text = match kv::get(FX_LIVE_KEY, t)? {
        Some(v) => Some(v),
        None => kv::get(&bundle_key(&cfg.bundle, KIND_FX, "rates"), t)?,
    };
    Ok(text.and_then(|v| serde_json::from_str(&v).ok()))
}

fn report(r: Report) -> Result<(), String> {
    let mut opts = match &r.config {
        Some(p) => {
            let text = read_text(p, crate::schema::MAX_CONFIG_BYTES)?;
            let pz = match serde_json::from_str::<Config>(&text) {
                Ok(c) => c
                    .personalization
                    .ok_or("the config has no personalization")?,
                Err(_) => parse_json::<Personalization>(&text, p)?,
            };
            ReportOptions::from_config(&pz)
        }
        None => ReportOptions::default(),
    };
    opts.confidence = r.confidence;
    opts.top_countries = r.countries;
    let mut tally = Tally::default();
    for f in &r.files {
        tally.read(f)?;
    }
    let rep = tally.report(&opts);
    let text = match r.format {
        OutFormat::Markdown => markdown(&rep, &r.currency),
        OutFormat::Json => serde_json::to_string_pretty(&rep).map_err(|e| e.to_string())? + "\n",
    };
    match &r.out {
        Some(p) => std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display())),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string()),
    }
}

fn simulate_cmd(s: Simulate) -> Result<(), String> {
    let opts = simulate::Options {
        visitors: s.visitors,
        seed: s.seed,
        base_rate: s.base_rate,
        lift: s.lift,
        holdout: s.holdout,
        lose_treatment: s.lose_treatment,
    };
    let customers = simulate::customers(&s.retail)?;
    if let Some(p) = &s.config_out {
        let json = serde_json::to_string_pretty(&simulate::personalization(&opts))
            .map_err(|e| e.to_string())?;
        std::fs::write(p, json).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let mut out: Box<dyn Write> = match &s.out {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = std::io::BufWriter::new(&mut out);
    let mut err = None;
    let mut lines = 0u64;
    simulate::simulate(&customers, &opts, |e| {
        if err.is_none() {
            lines += 1;
            err = serde_json::to_writer(&mut w, e)
                .map_err(|e| e.to_string())
                .and_then(|()| w.write_all(b"\n").map_err(|e| e.to_string()))
                .err();
        }
    });
    w.flush().map_err(|e| e.to_string())?;
    if let Some(e) = err {
        return Err(e);
    }
    eprintln!(
        "simulated {} visitors from {} customers: {lines} lines",
        s.visitors,
        customers.len()
    );
    Ok(())
}
