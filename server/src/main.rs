//! `didtron`: the DIDTron server and its administration commands.
//!
//! ```text
//! didtron [serve]                      run the web server (default)
//! didtron migrate                      apply pending database migrations and exit
//! didtron user create --email E --role admin|super_admin|customer [--carrier ID]
//! didtron carrier create --name N --account-code C [--type customer|supplier|both] [--currency USD]
//! didtron rate --deck DECK.csv --cdrs CDRS [--format asterisk|csv|kamailio-json] --out OUT.csv
//! ```
//! Configuration comes from the environment (see `server::config`).

use clap::{Parser, Subcommand};
use server::config::Config;

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
    /// Rate a CDR file against a rate deck offline (no database): one output row per CDR
    /// with its explanation, a summary on stderr.
    Rate {
        /// Rate deck CSV (columns: prefix, destination, rate, increment, effective_from,
        /// currency; optional connection_fee, minimum, grace, effective_to).
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
