//! `borderless`: the precompute CLI. Event log + catalog → the KV bundle the
//! worker reads; `check`, `publish` and `eval` around it; `fx`, `rollback`,
//! `report` and `simulate` for running it (precompute::ops). Native only.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(e) = cli::main() {
        eprintln!("borderless: {e}");
        std::process::exit(1);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use borderless::base::time::parse_rfc3339;
    use borderless::config;
    use borderless::precompute::agg::{rfc3339, Aggregates, Pipeline};
    use borderless::precompute::bundle::{self, Extras};
    use borderless::precompute::catalog::Catalog;
    use borderless::precompute::cli_args::{Aggregate, Build, Eval, Laps, RETAIL_LOG};
    use borderless::precompute::cooc::Cooc;
    use borderless::precompute::customer_args::Base;
    use borderless::precompute::customer_kv;
    use borderless::precompute::events::{self, RowReport};
    use borderless::precompute::history::Collector;
    use borderless::precompute::locales;
    use borderless::precompute::publish;
    use borderless::precompute::rank;
    use borderless::precompute::tm::cli as tm_cli;
    use borderless::precompute::{eval, ops, replay, retail};
    use borderless::schema::{BulkEntry, Dictionary, FxRates};
    use clap::{Parser, Subcommand};
    use std::io::{BufWriter, IsTerminal, Write};
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    #[derive(Parser)]
    #[command(
        name = "borderless",
        version,
        about = "Precomputes the KV bundle the Borderless worker reads"
    )]
    struct Cli {
        #[command(subcommand)]
        cmd: Cmd,
    }

    #[derive(Subcommand)]
    enum Cmd {
        /// Build the bundle (a `wrangler kv bulk put` JSON file) from a log.
        Build(Box<Build>),
        /// Dump the tool's aggregation (segment, product, week, event, count, quantity, last_seen) as CSV.
        Aggregate(Aggregate),
        /// Export the Online Retail log's product list as a catalog (JSON Lines).
        Catalog {
            #[arg(long, default_value = RETAIL_LOG)]
            retail: PathBuf,
            #[arg(long, default_value = "en-GB")]
            locale: String,
            /// Only the N best sellers are active (the demo store shows 48).
            #[arg(long)]
            active_top: Option<usize>,
            #[arg(short, long)]
            out: Option<PathBuf>,
        },
        /// Validate a bundle (or, with --customers, a customer file) against the schema and KV limits.
        Check {
            file: PathBuf,
            /// The file is `build --customers-out`'s (read as a stream).
            #[arg(long)]
            customers: bool,
            /// A source catalog (`borderless extract`): report translation coverage per locale.
            #[arg(long)]
            catalog: Option<PathBuf>,
        },
        /// Find the translatable segments of a shop's pages; write XLIFF 2.1 and PO catalogs.
        Extract(tm_cli::ExtractArgs),
        /// Pseudo-translate a source catalog (tests that every segment round-trips).
        Pseudo(tm_cli::PseudoArgs),
        /// Write a bundle to KV: all versioned values, then the pointer.
        Publish {
            file: PathBuf,
            /// The file is `build --customers-out`'s: streamed, 10,000 per put.
            #[arg(long)]
            customers: bool,
            #[command(flatten)]
            kv: ops::KvTarget,
        },
        /// Evaluate the recommenders on the Online Retail log (temporal split).
        Eval(Eval),
        #[command(flatten)]
        Ops(ops::Ops),
        /// GDPR erasure: delete a customer's value from KV (wrangler kv key delete).
        Forget {
            /// The customer id, as in the log and the shop's cookie.
            #[arg(long)]
            customer: String,
            /// File holding the KV key secret (default: $BORDERLESS_CUSTOMER_KEY).
            #[arg(long)]
            customer_key_file: Option<PathBuf>,
            #[command(flatten)]
            kv: ops::KvTarget,
        },
        /// Write a bigger Online Retail log (CSV, for benchmarks): its invoices
        /// resampled with replacement into the same year, `--times` as many.
        Replay {
            #[arg(long, default_value = RETAIL_LOG)]
            retail: PathBuf,
            /// Invoices per invoice of the log (the same weeks, more traffic).
            #[arg(long, default_value_t = 1.0)]
            times: f64,
            #[arg(long, default_value_t = 1)]
            seed: u64,
            /// Each copy is shifted by up to this many minutes either way.
            #[arg(long, default_value_t = 30)]
            jitter_minutes: i64,
            /// Output CSV (default: stdout).
            #[arg(short, long)]
            out: Option<PathBuf>,
        },
    }

    pub fn main() -> Result<(), String> {
        match Cli::parse().cmd {
            Cmd::Build(b) => build(*b),
            Cmd::Aggregate(a) => aggregate(a),
            Cmd::Ops(op) => ops::run(op),
            Cmd::Catalog {
                retail,
                locale,
                active_top,
                out,
            } => {
                let opts = retail::Options {
                    locale,
                    catalog_until_ms: None,
                    progress: progress(false),
                    active_top,
                };
                let (rows, cat) = retail::read(&retail, &opts, |_| {})?;
                eprintln!("{}", rows.summary("log"));
                let mut ids: Vec<&String> = cat.products.keys().collect();
                ids.sort();
                with_output(out.as_deref(), |w| {
                    for id in ids {
                        let (c, active) = (&cat.products[id].card, cat.products[id].active);
                        let line = serde_json::json!({
                            "id": c.id, "title": c.title, "category": c.category, "price": c.price,
                            "currency": c.currency, "image": c.image, "url": c.url, "active": active,
                        });
                        writeln!(w, "{line}")?;
                    }
                    Ok(())
                })
            }
            Cmd::Check {
                file,
                customers: true,
                ..
            } => {
                println!("{}", customer_kv::check_summary(&file)?);
                Ok(())
            }
            Cmd::Forget {
                customer,
                customer_key_file,
                kv,
            } => {
                let key = customer_kv::load_key(customer_key_file.as_deref())?;
                let target = kv.target();
                let k = customer_kv::forget(&customer, &key, &target)?;
                eprintln!("deleted {k}; add the id to --exclude-customers so the next build leaves it out");
                Ok(())
            }
            Cmd::Extract(a) => tm_cli::extract_cmd(&a),
            Cmd::Pseudo(a) => tm_cli::pseudo_cmd(&a),
            Cmd::Check { file, catalog, .. } => {
                let entries = read_bundle(&file)?;
                let s = bundle::check(&entries).map_err(|errs| {
                    format!("{} is invalid:\n  {}", file.display(), errs.join("\n  "))
                })?;
                println!(
                    "{}: valid bundle {}: {} keys, {} bytes, {} packs, {} segment lists, {} cards; largest value {} bytes ({})",
                    file.display(), s.bundle, s.keys, s.bytes, s.countries, s.segments, s.cards, s.largest_bytes, s.largest_key
                );
                for line in tm_cli::check_lines(&s.tm, &entries, catalog.as_deref())? {
                    println!("{line}");
                }
                Ok(())
            }
            Cmd::Publish {
                file,
                customers,
                kv,
            } => {
                let target = kv.target();
                if customers {
                    let n = customer_kv::publish(&file, &target)?;
                    eprintln!("published {n} customer values");
                    return Ok(());
                }
                let entries = read_bundle(&file)?;
                let r = publish::publish(&entries, &target)?;
                let n: usize = r.calls.iter().map(|c| c.0).sum();
                eprintln!(
                    "published {n} keys in {} calls ({}), pointer last",
                    r.calls.len(),
                    if target.local { "local" } else { "remote" }
                );
                Ok(())
            }
            Cmd::Replay {
                retail,
                times,
                seed,
                jitter_minutes,
                out,
            } => {
                let opts = replay::Options {
                    times,
                    seed,
                    jitter_minutes,
                };
                let t = Instant::now();
                let mut stats = None;
                with_output(out.as_deref(), |w| {
                    stats = Some(replay::replay(&retail, &opts, w).map_err(std::io::Error::other)?);
                    Ok(())
                })?;
                let s = stats.expect("replayed");
                eprintln!(
                    "replayed {} invoices ({} rows) x{times} (seed {seed}): {} invoices, {} rows in {:.2} s",
                    s.source_invoices,
                    s.source_rows - s.skipped_rows,
                    s.invoices,
                    s.rows,
                    t.elapsed().as_secs_f64()
                );
                Ok(())
            }
            Cmd::Eval(e) => {
                let day = |d: &str| {
                    parse_rfc3339(&format!("{d}T00:00:00Z")).ok_or(format!("{d:?} is not a date"))
                };
                let opts = eval::Options {
                    log: e.retail,
                    cutoff_ms: day(&e.train_until)? + 86_400_000,
                    end_ms: day(&e.test_until)? + 86_400_000,
                    rank: e.tuning.params(0),
                    pack: e.tuning.pack(),
                    cooc_min_support: e.tuning.cooc_min,
                    customers: e.customer.params(),
                    progress: progress(e.quiet),
                };
                let t = Instant::now();
                let prep = eval::prepare(&opts)?;
                if e.tune_customers {
                    let m = eval::BASELINE;
                    println!("| half-life | freq exp | cycle weight | repeat exp | HR@10 buy again | NDCG@10 | HR@10 for you | NDCG@10 | baseline HR / NDCG |");
                    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
                    for (p, g) in eval::tune(&prep, &opts.customers) {
                        println!(
                            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} / {:.3} |",
                            p.half_life_days,
                            p.freq_exp,
                            p.cycle_weight,
                            p.repeat_exp,
                            g.hr(m + 1),
                            g.ndcg(m + 1),
                            g.hr(m + 2),
                            g.ndcg(m + 2),
                            g.hr(m),
                            g.ndcg(m)
                        );
                    }
                    return Ok(());
                }
                let r = prep.report(&opts.customers);
                eprintln!("{}", r.rows.summary("log"));
                println!("{}", eval::markdown(&r));
                eprintln!("eval took {:.1} s", t.elapsed().as_secs_f64());
                Ok(())
            }
        }
    }

    fn progress(quiet: bool) -> bool {
        !quiet && std::io::stderr().is_terminal()
    }

    fn with_output(
        out: Option<&Path>,
        f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), String> {
        let res = match out {
            Some(p) => {
                let file = std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?;
                let mut w = BufWriter::new(file);
                f(&mut w).and_then(|()| w.flush())
            }
            None => {
                let mut w = BufWriter::new(std::io::stdout().lock());
                f(&mut w).and_then(|()| w.flush())
            }
        };
        res.map_err(|e| e.to_string())
    }

    fn read_bundle(file: &Path) -> Result<Vec<BulkEntry>, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a wrangler bulk file ([{{key, value}}]): {e}",
                file.display()
            )
        })
    }

    fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T, String> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
    }

    fn throughput(rows: &RowReport, t: Instant) {
        let s = t.elapsed().as_secs_f64();
        eprintln!(
            "read {} rows in {:.2} s ({:.0} rows/s)",
            rows.rows,
            s,
            rows.rows as f64 / s.max(1e-9)
        );
    }

    /// One streaming pass over a log: the aggregates, pairs, catalog, row report.
    fn ingest(
        retail_log: Option<&Path>,
        events_log: Option<&Path>,
        locale: &str,
        active_top: Option<usize>,
        quiet: bool,
        pairs: bool,
        mut history: Option<&mut Collector>,
    ) -> Result<(Aggregates, Cooc, Option<Catalog>, RowReport), String> {
        let mut hist_err = None;
        let mut feed = |pipe: &mut Pipeline, ev: &events::Event| {
            pipe.feed(ev);
            if let Some(h) = history.as_deref_mut() {
                if let Err(e) = h.add(ev) {
                    hist_err.get_or_insert(e);
                }
            }
        };
        let mut pipe = if pairs {
            Pipeline::default()
        } else {
            Pipeline::counts_only()
        };
        let t = Instant::now();
        let (rows, cat) = match (retail_log, events_log) {
            (Some(path), _) => {
                let opts = retail::Options {
                    locale: locale.into(),
                    catalog_until_ms: None,
                    progress: progress(quiet),
                    active_top,
                };
                let (rows, cat) = retail::read(path, &opts, |ev| feed(&mut pipe, ev))?;
                (rows, Some(cat))
            }
            (None, Some(path)) => (
                events::read(path, progress(quiet), |ev| feed(&mut pipe, &ev))?,
                None,
            ),
            (None, None) => return Err("no event log given".into()),
        };
        if let Some(e) = hist_err {
            return Err(e);
        }
        throughput(&rows, t);
        let (agg, cooc) = pipe.finish();
        Ok((agg, cooc, cat, rows))
    }

    fn aggregate(a: Aggregate) -> Result<(), String> {
        let mut history = a.customers_out.as_ref().map(|_| Collector::new(1_000_000));
        let (agg, cooc, _, rows) = ingest(
            a.retail.as_deref(),
            a.events.as_deref(),
            "en-GB",
            None,
            a.quiet,
            a.pairs_out.is_some(),
            history.as_mut(),
        )?;
        if let (Some(h), Some(p)) = (history.as_mut(), &a.customers_out) {
            with_output(Some(p), |w| h.write_csv(w).map_err(std::io::Error::other))?;
        }
        eprintln!("{}", rows.summary("log"));
        rows.check("log", a.max_bad)?;
        with_output(a.out.as_deref(), |w| agg.write_csv(w))?;
        if let Some(p) = &a.pairs_out {
            with_output(Some(p), |w| cooc.write_csv(&agg.products, w))?;
        }
        eprintln!(
            "{} cells, {} products, {} baskets",
            agg.cells.len(),
            agg.products.names.len(),
            cooc.baskets
        );
        Ok(())
    }

    fn build(b: Build) -> Result<(), String> {
        let mut laps = Laps::new();
        let template_text = std::fs::read_to_string(&b.config)
            .map_err(|e| format!("{}: {e}", b.config.display()))?;
        let mut template = config::parse(&template_text)
            .map_err(|e| format!("{}: {e}", b.config.display()))?
            .doc;
        let locale = template.site.default_locale.clone();
        let load_catalog = |what: &str| -> Result<Catalog, String> {
            let path = b
                .catalog
                .as_ref()
                .ok_or(format!("{what} needs --catalog"))?;
            let (cat, rows) = Catalog::load(path, &locale)?;
            eprintln!("{}", rows.summary("catalog"));
            rows.check("catalog", b.max_bad)?;
            Ok(cat)
        };
        let co = &b.customers;
        if co.customer_counts.is_some() && b.source.counts.is_none() {
            return Err("--customer-counts goes with --counts".into());
        }
        // Checked before the long read.
        let customer_key = match &co.customers_out {
            Some(_) => Some(customer_kv::load_key(co.customer_key_file.as_deref())?),
            None => None,
        };
        let exclude = customer_kv::load_exclude(co.exclude_customers.as_deref())?;
        let mut history = co
            .customers_out
            .as_ref()
            .map(|_| Collector::new(co.customer_budget));
        let (agg, cooc, catalog) = if let Some(counts) = &b.source.counts {
            let t = Instant::now();
            let (mut agg, rows) = Aggregates::read_csv(counts, progress(b.quiet))?;
            throughput(&rows, t);
            eprintln!("{}", rows.summary("counts"));
            rows.check("counts", b.max_bad)?;
            let cooc = match &b.pairs {
                Some(p) => {
                    let (c, rows) = Cooc::read_csv(p, &mut agg.products)?;
                    eprintln!("{}", rows.summary("pairs"));
                    rows.check("pairs", b.max_bad)?;
                    c
                }
                None => Cooc::default(),
            };
            if let (Some(h), Some(p)) = (history.as_mut(), &co.customer_counts) {
                let rows = h.read_csv(p, progress(b.quiet))?;
                eprintln!("{}", rows.summary("customer counts"));
                rows.check("customer counts", b.max_bad)?;
            }
            (agg, cooc, load_catalog("--counts")?)
        } else {
            let (agg, cooc, cat, rows) = ingest(
                b.source.retail.as_deref(),
                b.source.events.as_deref(),
                &locale,
                b.active_top,
                b.quiet,
                true,
                history.as_mut(),
            )?;
            eprintln!("{}", rows.summary("log"));
            rows.check("log", b.max_bad)?;
            let cat = match (cat, &b.catalog) {
                (Some(c), None) => c,
                _ => load_catalog("--events")?,
            };
            (agg, cooc, cat)
        };
        laps.lap("read");
        let as_of = match &b.as_of {
            Some(s) => parse_rfc3339(s).ok_or(format!("--as-of {s:?} is not RFC 3339"))?,
            None => agg.last_ms,
        };
        let ranking = rank::rank(&agg, &catalog, &b.tuning.params(as_of));
        laps.lap("rank");
        let also = cooc.lists(&agg.products, b.tuning.cooc_min, b.tuning.also_len.max(50));
        laps.lap("also-bought");
        let packs = bundle::packs(&ranking, &also, &agg.products, &catalog, &b.tuning.pack());
        laps.lap("packs");
        if let (Some(h), Some(key)) = (history.as_mut(), &customer_key) {
            let base = Base {
                ranking: &ranking,
                also: &also,
                names: &agg.products,
                catalog: &catalog,
                as_of_ms: as_of,
            };
            let line = co.write(h, key, &exclude, base)?;
            eprintln!("{line}");
            laps.lap("customers");
        }
        let mut extras = Extras {
            fx: b.fx.as_deref().map(read_json::<FxRates>).transpose()?,
            dicts: Vec::new(),
            tm: Vec::new(),
        };
        if let Some(dir) = &b.translations {
            extras.tm = tm_cli::memories(dir, &mut template, b.tm_shard_bytes)?;
        }
        for d in &b.dict {
            extras.dicts.push(read_json::<Dictionary>(d)?);
        }
        if let Some(dir) = &b.dicts {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for f in files {
                extras.dicts.push(read_json::<Dictionary>(&f)?);
            }
        }
        extras.dicts = locales::complete(&template, extras.dicts, extras.fx.as_ref())?;
        laps.lap("locales");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let entries = bundle::assemble(&template, &packs, &extras, now, b.bundle.as_deref())?;
        let summary = bundle::check(&entries)
            .map_err(|errs| format!("built an invalid bundle (a bug):\n  {}", errs.join("\n  ")))?;
        with_output(b.out.as_deref(), |w| {
            serde_json::to_writer(&mut *w, &entries)?;
            writeln!(w)
        })?;
        laps.lap("write");
        eprintln!(
            "bundle {}: {} keys ({} country packs, {} segment lists), {} bytes; largest value {} bytes ({}); as of {}; {}",
            summary.bundle,
            summary.keys,
            summary.countries,
            summary.segments,
            summary.bytes,
            summary.largest_bytes,
            summary.largest_key,
            rfc3339(as_of),
            laps.summary()
        );
        Ok(())
    }
}
