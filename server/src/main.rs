//! `didtron`: the DIDTron server and its administration commands.
//!
//! ```text
//! didtron [serve]                      run the web server (default)
//! didtron migrate                      apply pending database migrations and exit
//! didtron user create --email E --role admin|super_admin|customer [--carrier ID]
//! didtron carrier create --name N --account-code C [--type customer|supplier|both] [--currency USD]
//! didtron cdr import FILE [--format asterisk|csv|json] [--customer-interconnect-id ID] …
//! didtron cdr pull-source --name N --url U [--header H] [--interval S] | didtron cdr pull NAME
//! didtron rate --deck DECK.csv --cdrs CDRS [--format asterisk|csv|kamailio-json] --out OUT.csv
//! ```
//! Configuration comes from the environment (see `server::config`).

use clap::{Parser, Subcommand};
use server::config::Config;

/// mimalloc: DIDTron's hot paths (routing decisions, CDR ingest) make many small
/// allocations; it serves them faster than glibc's allocator and never stalls a lookup
/// while another thread frees a large routing table (BENCHMARKS.md, "Routing decision").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "didtron",
    version,
    about = "DIDTron: operations platform for wholesale VoIP carriers"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage carriers.
    Carrier {
        #[command(subcommand)]
        command: CarrierCommand,
    },
    /// API keys of switches and CDR sources.
    #[command(name = "api-key")]
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// The ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// CDR files.
    Cdr {
        #[command(subcommand)]
        command: CdrCommand,
    },
    /// Rate decks.
    Deck {
        #[command(subcommand)]
        command: DeckCommand,
    },
    /// Rate a CDR file against a rate deck offline (no database): one output row per CDR
    /// with its explanation, a summary on stderr.
    Rate {
        /// Rate deck: a carrier's CSV or Excel workbook as sent (the import parser reads
        /// it: letterhead, header row, code conventions, dates and pulses).
        #[arg(long)]
        deck: String,
        /// CDR file: Asterisk Master.csv, plain CSV or Kamailio acc_json lines.
        #[arg(long)]
        cdrs: String,
        /// CDR format; guessed from the file when omitted.
        #[arg(long, value_parser = parse_format)]
        format: Option<service::rating_files::CdrFormat>,
        /// Output CSV ("-" for standard output).
        #[arg(long, default_value = "-")]
        out: String,
        /// Decimals each call's cost is rounded to (0-6), half-up.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(0..=6))]
        scale: u8,
    },
}

fn parse_format(text: &str) -> Result<service::rating_files::CdrFormat, String> {
    service::rating_files::CdrFormat::parse(text)
}

#[derive(Subcommand, Debug)]
enum DeckCommand {
    /// Create a rate plan (defaults of a new plan: 60/60, 7 days' notice).
    Create {
        /// The plan's name.
        #[arg(long)]
        name: String,
        /// `supplier` (a supplier deck) or `customer` (a customer plan).
        #[arg(long, default_value = "supplier")]
        kind: String,
        /// ISO 4217 currency.
        #[arg(long, default_value = "USD")]
        currency: String,
        /// The supplier's or customer's carrier id.
        #[arg(long)]
        carrier: Option<i64>,
    },
    /// Import a rate deck file (CSV or Excel) into a rate plan and publish it as a
    /// revision; prints the preview's counts and every bad line. Nothing is published
    /// when a line is bad, unless --skip-bad-rows.
    Import {
        /// The file.
        file: String,
        /// The rate plan's name.
        #[arg(long)]
        plan: String,
        /// The file holds changes only: codes not in it stay (default: a full deck).
        #[arg(long)]
        partial: bool,
        /// Publish the good lines and report the bad ones.
        #[arg(long)]
        skip_bad_rows: bool,
    },
}

#[derive(Subcommand, Debug)]
enum CdrCommand {
    /// Import a CDR file (Asterisk Master.csv, CSV with a header, or JSON lines): every
    /// call stored, mediated, rated on both legs and posted, as the switch API does.
    /// Nothing is stored when a line is bad (each is printed); a call already stored
    /// from the same source is not stored again.
    Import {
        /// The file.
        file: String,
        /// `asterisk`, `csv` or `json`; guessed from the file when omitted.
        #[arg(long)]
        format: Option<String>,
        /// File the calls under this switch's API key name (default: "File imports").
        #[arg(long)]
        source: Option<String>,
        /// The customer's ingress interconnect id, for records without a source address.
        #[arg(long)]
        customer_interconnect_id: Option<i64>,
        /// The supplier's egress interconnect id, for records without a known route.
        #[arg(long)]
        supplier_interconnect_id: Option<i64>,
        /// Master.csv's accountcode is the customer carrier's account code.
        #[arg(long)]
        by_account_code: bool,
    },
    /// Add a pull source: a softswitch API DIDTron fetches CDRs from in pages
    /// (`GET URL?limit=500&since=CURSOR` → `{"records": [...], "cursor": ...}`), every
    /// --interval seconds while `didtron serve` runs.
    #[command(name = "pull-source")]
    PullSource {
        #[arg(long)]
        name: String,
        #[arg(long)]
        url: String,
        /// Sent as the Authorization header, e.g. "Bearer abc…".
        #[arg(long, default_value = "")]
        header: String,
        #[arg(long, default_value_t = 60)]
        interval: i64,
    },
    /// Pull a source now, until caught up, and print what was stored.
    Pull {
        /// The pull source's name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum LedgerCommand {
    /// Reconcile every carrier's running balance with the sum of its ledger entries;
    /// exits 1 when one differs (with --repair, the running balance is set from the
    /// ledger first).
    Check {
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ApiKeyCommand {
    /// Create an API key for a switch or CDR source and print it (once: only its hash
    /// is kept).
    Create {
        /// The key's name, e.g. the switch it is for.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user. The password is read from DIDTRON_USER_PASSWORD, or generated and
    /// printed once.
    Create {
        #[arg(long)]
        email: String,
        /// super_admin, admin or customer.
        #[arg(long, value_parser = parse_role)]
        role: domain::Role,
        /// The carrier a customer user belongs to (required for customers).
        #[arg(long = "carrier")]
        carrier: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
enum CarrierCommand {
    /// Create an active carrier and print its id.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long = "account-code")]
        account_code: String,
        /// customer, supplier or both.
        #[arg(long = "type", default_value = "customer")]
        carrier_type: String,
        /// ISO 4217 code.
        #[arg(long, default_value = "USD")]
        currency: String,
    },
}

fn parse_role(text: &str) -> Result<domain::Role, String> {
    domain::Role::parse(text).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Offline rating needs no configuration and no database.
    if let Some(Command::Rate {
        deck,
        cdrs,
        format,
        out,
        scale,
    }) = &cli.command
    {
        return match rate(deck, cdrs, *format, out, *scale) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("didtron rate: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    server::telemetry::init_logging(config.log_format);
    match run(cli, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("didtron: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let addr = config.bind_addr;
            let didtron = server::start(config).await?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
            tracing::info!("listening on http://{addr}");
            didtron.serve(listener, server::shutdown_signal()).await
        }
        Command::Migrate => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    role,
                    carrier,
                },
        } => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let (password, generated) = match std::env::var("DIDTRON_USER_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => {
                    use rand::distr::{Alphanumeric, SampleString};
                    (Alphanumeric.sample_string(&mut rand::rng(), 20), true)
                }
            };
            let user = service::users::create_user(
                &db,
                service::users::NewUser {
                    email,
                    password: password.clone(),
                    role,
                    carrier_id: carrier,
                },
            )
            .await
            .map_err(describe)?;
            println!("created {} user {} (id {})", role, user.email, user.id);
            if generated {
                println!("password: {password}  (shown only this once)");
            }
            Ok(())
        }
        Command::Rate { .. } => unreachable!("handled before configuration is read"),
        Command::Deck {
            command:
                DeckCommand::Create {
                    name,
                    kind,
                    currency,
                    carrier,
                },
        } => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let mut form = domain::rate_plans::RatePlanForm::new_plan();
            form.name = name;
            form.kind = kind;
            form.currency = currency;
            form.carrier_id = carrier.map(|c| c.to_string()).unwrap_or_default();
            let plan =
                service::rate_plans::save_plan(&db, &service::audit::Actor::system(), None, &form)
                    .await
                    .map_err(describe)?;
            println!(
                "created rate plan {} ({}) with id {}",
                plan.name, plan.kind, plan.id
            );
            Ok(())
        }
        Command::Deck {
            command:
                DeckCommand::Import {
                    file,
                    plan,
                    partial,
                    skip_bad_rows,
                },
        } => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let files = service::files::Files::local(&config.files_dir).map_err(describe)?;
            let ctx = service::jobs::JobContext {
                db: db.clone(),
                files,
                kv: kv_of(&config).await?,
            };
            let plan = service::rate_plans::find_plan_by_name(&db, &plan)
                .await
                .map_err(|_| anyhow::anyhow!("no rate plan is called `{plan}`"))?;
            let bytes =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))?;
            let name = std::path::Path::new(&file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.clone());
            let options = domain::rate_plans::ImportOptions {
                replace_all: !partial,
                skip_bad_rows,
                ..Default::default()
            };
            let started = std::time::Instant::now();
            let view = service::rate_plans::import::import_now(
                &ctx,
                &service::audit::Actor::system(),
                plan.id,
                &name,
                bytes,
                options,
            )
            .await
            .map_err(describe)?;
            print!("{}", deck_import_summary(&view, started.elapsed()));
            if view.status == "published" {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "nothing was published{}",
                    if view.error.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", view.error)
                    }
                ))
            }
        }
        Command::Cdr {
            command:
                CdrCommand::Import {
                    file,
                    format,
                    source,
                    customer_interconnect_id,
                    supplier_interconnect_id,
                    by_account_code,
                },
        } => {
            let format = match format.as_deref() {
                None => None,
                Some(f) => Some(domain::cdr::views::CdrFileFormat::parse(f).ok_or_else(|| {
                    anyhow::anyhow!("unknown CDR file format `{f}`: use asterisk, csv or json")
                })?),
            };
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let files = service::files::Files::local(&config.files_dir).map_err(describe)?;
            let ctx = service::jobs::JobContext {
                db: db.clone(),
                files,
                kv: kv_of(&config).await?,
            };
            let source_id = match source {
                None => None,
                Some(name) => Some(
                    service::cdrs::api_keys::sources(&db)
                        .await
                        .map_err(describe)?
                        .into_iter()
                        .find(|k| k.name == name)
                        .ok_or_else(|| anyhow::anyhow!("no CDR source is called `{name}`"))?
                        .id,
                ),
            };
            let bytes =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))?;
            let name = std::path::Path::new(&file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.clone());
            let options = domain::cdr::views::CdrFileOptions {
                format,
                source_id,
                customer_interconnect_id,
                supplier_interconnect_id,
                customer_by_account_code: by_account_code,
            };
            let view = service::cdrs::files::import_now(
                &ctx,
                &service::audit::Actor::system(),
                &name,
                bytes,
                options,
            )
            .await
            .map_err(describe)?;
            let report = view.report.clone().unwrap_or_default();
            println!(
                "{}: {} ({}), {} CDRs read, filed under {}",
                view.file_name, view.status, view.format, report.records, view.source
            );
            for e in &report.errors {
                println!("  line {}: {}", e.line, e.message);
            }
            if report.bad_lines > report.errors.len() as u64 {
                println!(
                    "  … and {} more bad lines",
                    report.bad_lines - report.errors.len() as u64
                );
            }
            let i = &report.ingest;
            println!(
                "stored {} (rated {}, unrated {}, rejected {}), {} already stored",
                i.stored, i.rated, i.unrated, i.rejected, i.duplicates
            );
            if view.status == "done" {
                Ok(())
            } else {
                Err(anyhow::anyhow!("nothing was stored: {}", view.error))
            }
        }
        Command::Cdr {
            command:
                CdrCommand::PullSource {
                    name,
                    url,
                    header,
                    interval,
                },
        } => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let form = service::cdrs::pull::PullSourceForm {
                name,
                url,
                auth_header: header,
                interval_secs: interval,
            };
            let source =
                service::cdrs::pull::create_source(&db, &service::audit::Actor::system(), &form)
                    .await
                    .map_err(describe)?;
            println!(
                "added pull source {} (id {}), pulled every {} s by `didtron serve`",
                source.name, source.id, source.interval_secs
            );
            Ok(())
        }
        Command::Cdr {
            command: CdrCommand::Pull { name },
        } => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let kv = kv_of(&config).await?;
            let source = service::cdrs::pull::sources(&db)
                .await
                .map_err(describe)?
                .into_iter()
                .find(|s| s.name == name)
                .ok_or_else(|| anyhow::anyhow!("no pull source is called `{name}`"))?;
            let client = service::cdrs::pull::client().map_err(describe)?;
            let decks = service::cdrs::DeckCache::new();
            let report = service::cdrs::pull::pull(
                &db,
                &kv,
                &decks,
                &client,
                source.id,
                service::cdrs::pull::MAX_PAGES,
            )
            .await
            .map_err(describe)?;
            if !report.ran {
                return Err(anyhow::anyhow!("another instance is pulling {name} now"));
            }
            let i = &report.ingest;
            println!(
                "{} pages: stored {} (rated {}, unrated {}, rejected {}), {} already stored; high-water mark `{}`",
                report.pages, i.stored, i.rated, i.unrated, i.rejected, i.duplicates, report.cursor
            );
            match report.error {
                Some(e) => Err(anyhow::anyhow!("the pull stopped: {e}")),
                None => Ok(()),
            }
        }
        Command::Ledger {
            command: LedgerCommand::Check { repair },
        } => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let found = service::cdrs::reconcile(&db, repair)
                .await
                .map_err(describe)?;
            for m in &found {
                println!(
                    "carrier {}: running balance {} micro-units, ledger {} ({})",
                    m.carrier_id,
                    m.running_micros,
                    m.ledger_micros,
                    if repair { "repaired" } else { "differs" }
                );
            }
            if found.is_empty() {
                println!("every running balance equals its ledger");
            } else if !repair {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::ApiKey {
            command: ApiKeyCommand::Create { name },
        } => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let created =
                service::cdrs::api_keys::create(&db, &name, &service::audit::Actor::system())
                    .await
                    .map_err(describe)?;
            eprintln!(
                "created API key {} ({}…); it is shown once, keep it now:",
                created.key.name, created.key.key_prefix
            );
            println!("{}", created.secret);
            Ok(())
        }
        Command::Carrier {
            command:
                CarrierCommand::Create {
                    name,
                    account_code,
                    carrier_type,
                    currency,
                },
        } => {
            let db = connect(&config).await?;
            service::db::migrate(&db).await?;
            let carrier = service::carriers::create_carrier(
                &db,
                &service::audit::Actor::system(),
                service::carriers::NewCarrier {
                    name,
                    account_code,
                    carrier_type,
                    currency,
                },
            )
            .await
            .map_err(describe)?;
            println!(
                "created carrier {} ({}) with id {}",
                carrier.name, carrier.account_code, carrier.id
            );
            Ok(())
        }
    }
}

/// What `didtron deck import` prints: the file as read, the change codes, every bad line.
fn deck_import_summary(view: &domain::rate_plans::ImportView, took: std::time::Duration) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", view.file_name, view.status);
    if let Some(p) = &view.preview {
        let m = &p.metadata;
        let _ = writeln!(
            out,
            "sheet {} · header on line {} · currency {} · {} lines, {} codes",
            p.sheet.as_deref().unwrap_or("-"),
            p.header_line
                .map(|l| l.to_string())
                .unwrap_or_else(|| "-".into()),
            m.currency
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            p.data_lines,
            p.codes
        );
        for c in &p.conventions {
            let _ = writeln!(out, "  {c}");
        }
        let c = p.counts;
        let _ = writeln!(
            out,
            "new {} · increase {} · decrease {} · unchanged {} · removed {}",
            c.new, c.increase, c.decrease, c.unchanged, c.removed
        );
        for e in &p.errors {
            let _ = writeln!(out, "  {e}");
        }
    }
    if let Some(r) = &view.report {
        let _ = writeln!(
            out,
            "published revision {}: {} of {} lines, {} rows stored, {} skipped, in {:.2} s",
            r.revision,
            r.lines_published,
            r.lines_in,
            r.rows_stored,
            r.skipped.len(),
            took.as_secs_f64()
        );
    }
    out
}

fn rate(
    deck: &str,
    cdrs: &str,
    format: Option<service::rating_files::CdrFormat>,
    out: &str,
    scale: u8,
) -> anyhow::Result<()> {
    use domain::rating::{RatingPolicy, Rounding, RoundingMode};
    let policy = RatingPolicy {
        rounding: Rounding {
            scale,
            mode: RoundingMode::HalfUp,
        },
        ..Default::default()
    };
    let summary = if out == "-" {
        server::rate_command::rate_file(deck, cdrs, format, &policy, std::io::stdout().lock())?
    } else {
        let file =
            std::fs::File::create(out).map_err(|e| anyhow::anyhow!("cannot write {out}: {e}"))?;
        server::rate_command::rate_file(deck, cdrs, format, &policy, file)?
    };
    eprint!("{}", summary.report());
    Ok(())
}

async fn connect(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    service::db::connect(&config.database_url, 2)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "database {}: {e}",
                server::config::redact(&config.database_url)
            )
        })
}

/// The key-value store a command shares with the running instances: Redis when
/// `REDIS_URL` is set (one connection), in-process otherwise.
async fn kv_of(config: &Config) -> anyhow::Result<service::kv::Kv> {
    match &config.redis_url {
        Some(url) => service::kv::Kv::connect_redis(url, &config.redis_key_prefix, 1)
            .await
            .map_err(|e| anyhow::anyhow!("redis {}: {e}", server::config::redact(url))),
        None => Ok(service::kv::Kv::local()),
    }
}

fn describe(e: service::ServiceError) -> anyhow::Error {
    match e {
        service::ServiceError::Validation(fields) => {
            let lines: Vec<_> = fields
                .0
                .iter()
                .map(|f| format!("  --{}: {}", f.field.replace('_', "-"), f.message))
                .collect();
            anyhow::anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_parses() {
        Cli::command().debug_assert();
        let cli = Cli::parse_from([
            "didtron",
            "user",
            "create",
            "--email",
            "a@b.co",
            "--role",
            "customer",
            "--carrier",
            "7",
        ]);
        assert!(matches!(
            cli.command,
            Some(Command::User {
                command: UserCommand::Create {
                    role: domain::Role::Customer,
                    carrier: Some(7),
                    ..
                }
            })
        ));
        assert!(Cli::try_parse_from([
            "didtron", "user", "create", "--email", "a@b.co", "--role", "root"
        ])
        .is_err());
        assert!(Cli::parse_from(["didtron"]).command.is_none());
    }
}
