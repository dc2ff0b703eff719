//! The commands, their flags, and what they print: the library's functions in a terminal.

use std::{io::Write as _, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::{
    audit::{AUDIT_LOG_VAR, AuditLog, AuditRecord},
    connection::Broker,
    dead_letter::{DeadLetter, DeadLetterQueue},
    error::{Result, error_chain},
    list::{self, ListRequest},
    selector::{Choice, Selector},
    settings::ConnectionArgs,
    show,
    token::{Holder, TokenRequest},
};

/// The operator's tool for the shop's bus.
#[derive(Debug, Parser)]
#[command(name = "shopctl", version)]
pub struct Cli {
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Dead letters: what a service's consumer gave up on, parked in `<service>.dead`.
    ///
    /// Reading never loses or reorders anything: messages are taken unacknowledged, held until
    /// the end and given back in place (or removed, by a confirmed replay or drop); if shopctl
    /// dies, the broker gives them back by itself. While they are held, nobody else sees them.
    #[command(subcommand)]
    Dead(DeadCommand),
    /// Prints a bearer token for the shop that `scripts/run` started, and nothing else.
    ///
    /// Signed with the local key (see `shopctl key init`); the services verify it with its
    /// public half. `--customer ID` may order for ID and read what is ID's; `--staff` may do
    /// everything staff does (prices, stock, credit limits, the tracker, dead letters).
    Token(TokenArgs),
    /// The local signing key of tokens.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The broker's identities: a user per service with only what its wiring needs.
    #[command(subcommand)]
    Broker(BrokerCommand),
}

#[derive(Debug, Subcommand)]
enum BrokerCommand {
    /// Creates or updates a user per service (`<prefix><service>`) and `<prefix>operator`, their
    /// permissions in the vhost (derived from the contracts' catalog of who publishes and binds
    /// what) and the shop's exchanges, through the management API as the administrator given
    /// by `--user`. Idempotent. Passwords are read from `<secrets>/<user>.password`, made on
    /// first run (owner-only); prints each user and its password file.
    Provision {
        #[command(flatten)]
        identities: IdentityArgs,
        /// Print the users, permissions and exchanges as a RabbitMQ definitions document
        /// (passwords as salted hashes) instead of applying them.
        #[arg(long)]
        definitions: bool,
    },
}

#[derive(Debug, Args)]
struct IdentityArgs {
    /// Prefix of every user's name (`shop-` makes `shop-billing`); the services' own
    /// `bus.senders.user_prefix` must be the same.
    #[arg(long, env = "SHOP__BUS__SENDERS__USER_PREFIX", default_value = "")]
    prefix: String,
    /// The folder of the users' password files [default: data/broker under the repository]
    #[arg(long, env = "SHOPCTL_BROKER_SECRETS")]
    secrets: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TokenArgs {
    #[command(flatten)]
    holder: HolderArgs,
    /// How long the token is valid, in seconds.
    #[arg(long, default_value_t = 12 * 60 * 60)]
    ttl_secs: u64,
    #[command(flatten)]
    key: KeyArgs,
    /// The issuer the services expect (their `auth.issuer`).
    #[arg(long, env = "SHOP__AUTH__ISSUER", default_value = "shop")]
    issuer: String,
    /// The audience the services expect (their `auth.audience`).
    #[arg(long, env = "SHOP__AUTH__AUDIENCE", default_value = "shop")]
    audience: String,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct HolderArgs {
    /// A customer's token: its subject is this customer id.
    #[arg(long, value_name = "ID")]
    customer: Option<String>,
    /// A staff token, for this name (recorded by the tracker's replays).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "staff")]
    staff: Option<String>,
}

#[derive(Debug, Args)]
struct KeyArgs {
    /// The key folder [default: data/auth under the repository]
    #[arg(long, env = crate::token::KEY_DIR_VAR)]
    key_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Makes the Ed25519 signing key pair unless one exists (never replaces it), the private
    /// half readable by its owner only; prints the public key's path.
    Init {
        #[command(flatten)]
        key: KeyArgs,
    },
}

#[derive(Debug, Subcommand)]
enum DeadCommand {
    /// Groups dead letters by queue, original routing key and reason: count, oldest, newest.
    ///
    /// A message's time is when it was dead-lettered as near as the message tells (the bus
    /// stamps no time when it parks one): the latest `time` of its `x-death` entries, when the
    /// broker last moved it out of a retry queue just before its last attempt; for a message
    /// never retried (undecodable, or no retry delays), when it was published, from its UUID v7
    /// id or its AMQP timestamp.
    List {
        /// Only this dead-letter queue (`billing.dead`, or just `billing`); all of the vhost's
        /// otherwise.
        #[arg(long, value_parser = parse_queue)]
        queue: Option<DeadLetterQueue>,
        /// Only dead letters whose reason (`x-error`) contains this text, ignoring case.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// Prints one dead letter: every property and header, and its payload.
    ///
    /// First what the bus recorded (routing key, reason, kind, attempt, time), then every
    /// property and header, then the payload (pretty JSON when it is JSON). Every copy, if the
    /// id is in several queues (the same event dead-lettered by several services).
    Show {
        /// The message id.
        id: String,
        /// Only this dead-letter queue (`billing.dead`, or just `billing`).
        #[arg(long, value_parser = parse_queue)]
        queue: Option<DeadLetterQueue>,
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// Moves chosen dead letters back into their service's queue, with a fresh attempt count.
    ///
    /// The service's queue is the dead-letter queue's name without `.dead`. Each copy keeps the
    /// message id, payload and properties, and `x-original-routing-key`/`x-original-exchange`
    /// (so the consumer reads it as the event it was); `x-attempt`, `x-error` and
    /// `x-dead-letter-kind` are removed. A dead letter is removed only once the broker confirmed
    /// its copy; the service's inbox makes a replay of something already applied change nothing.
    /// Recorded in the audit log, and printed.
    Replay {
        #[command(flatten)]
        choice: ChoiceArgs,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Removes chosen dead letters for good, after a confirmation on stdin.
    ///
    /// The chosen messages are held while the question waits, so what is confirmed is exactly
    /// what is removed. Recorded in the audit log, and printed.
    Drop {
        #[command(flatten)]
        choice: ChoiceArgs,
        /// Don't ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// How many messages of a queue to read at most (all are held, and kept in memory, until
    /// the end).
    #[arg(long, default_value_t = 10_000)]
    limit: usize,
}

/// Which dead letters of which queue.
#[derive(Debug, Args)]
struct ChoiceArgs {
    /// The dead-letter queue (`billing.dead`, or just `billing`).
    #[arg(long, value_parser = parse_queue)]
    queue: DeadLetterQueue,
    #[command(flatten)]
    selector: SelectorArgs,
    #[command(flatten)]
    scan: ScanArgs,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct SelectorArgs {
    /// These message ids (`--id A B` or `--id A --id B`).
    #[arg(long = "id", value_name = "ID", num_args = 1..)]
    ids: Vec<String>,
    /// Those whose reason (`x-error`) contains this text, ignoring case.
    #[arg(long)]
    reason: Option<String>,
    /// Those that first arrived with exactly this routing key (`order.v2.submit`).
    #[arg(long)]
    routing_key: Option<String>,
    /// Every one in the queue.
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
struct AuditArgs {
    /// The audit log, one JSON line per replay or drop [default: data/audit.log under the
    /// repository]
    #[arg(long, env = AUDIT_LOG_VAR)]
    audit_log: Option<PathBuf>,
}

fn parse_queue(name: &str) -> Result<DeadLetterQueue, String> {
    name.parse()
        .map_err(|error: crate::Error| error.to_string())
}

impl SelectorArgs {
    fn selector(self) -> Selector {
        match self {
            Self { all: true, .. } => Selector::All,
            Self {
                reason: Some(reason),
                ..
            } => Selector::Reason(reason),
            Self {
                routing_key: Some(key),
                ..
            } => Selector::RoutingKey(key),
            Self { ids, .. } => Selector::Ids(ids),
        }
    }
}

impl ChoiceArgs {
    fn choice(self) -> Choice {
        Choice {
            queue: self.queue,
            selector: self.selector.selector(),
            limit: self.scan.limit,
        }
    }
}

impl AuditArgs {
    fn log(self) -> AuditLog {
        AuditLog::new(self.audit_log.unwrap_or_else(AuditLog::default_path))
    }
}

impl KeyArgs {
    fn folder(self) -> PathBuf {
        self.key_dir.unwrap_or_else(crate::token::default_key_dir)
    }
}

impl TokenArgs {
    fn request(self) -> TokenRequest {
        let holder = match self.holder {
            HolderArgs {
                customer: Some(id), ..
            } => Holder::Customer(id),
            HolderArgs { staff, .. } => Holder::Staff(staff.unwrap_or_else(|| "staff".into())),
        };
        TokenRequest {
            holder,
            key_dir: self.key.folder(),
            issuer: self.issuer,
            audience: self.audience,
            ttl: Duration::from_secs(self.ttl_secs),
        }
    }
}

impl Cli {
    /// Runs the command; errors are printed with their causes, never with the password.
    pub async fn run(self) -> ExitCode {
        let command = match self.command {
            Command::Dead(command) => command,
            Command::Token(args) => {
                return match crate::token::token(&args.request()) {
                    Ok(token) => {
                        println!("{token}");
                        ExitCode::SUCCESS
                    }
                    Err(error) => failed(&error),
                };
            }
            Command::Key(KeyCommand::Init { key }) => {
                return match crate::token::init_key(&key.folder()) {
                    Ok((public, made)) => {
                        let state = if made { "made" } else { "kept" };
                        eprintln!("signing key {state}; the services verify with:");
                        println!("{}", public.display());
                        ExitCode::SUCCESS
                    }
                    Err(error) => failed(&error),
                };
            }
            Command::Broker(BrokerCommand::Provision {
                identities,
                definitions,
            }) => {
                return match self.connection.provision(identities, definitions).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => failed(&error),
                };
            }
        };
        let broker = match Broker::connect(
            &self.connection.broker_settings(),
            &self.connection.management_url,
        )
        .await
        {
            Ok(broker) => broker,
            Err(error) => return failed(&error),
        };
        let code = match command.run(&broker).await {
            Ok(code) => code,
            Err(error) => failed(&error),
        };
        broker.close().await;
        code
    }
}

impl ConnectionArgs {
    /// `shopctl broker provision`: applies the identities, or prints them as definitions.
    async fn provision(&self, identities: IdentityArgs, definitions: bool) -> Result<()> {
        let secrets = identities
            .secrets
            .unwrap_or_else(|| crate::token::default_key_dir().with_file_name("broker"));
        if definitions {
            let document =
                crate::provision::definitions(&self.vhost, &identities.prefix, &secrets)?;
            println!("{document:#}");
            return Ok(());
        }
        let management = event_bus::management::Management::new(
            &self.management_url,
            self.username.clone(),
            self.password.clone(),
        )
        .map_err(|source| crate::error::Error::Provision {
            what: "reach the management API".into(),
            source,
        })?;
        let done =
            crate::provision::provision(&management, &self.vhost, &identities.prefix, &secrets)
                .await?;
        eprintln!(
            "vhost {:?}: exchanges {} declared",
            self.vhost,
            done.exchanges.join(", ")
        );
        for user in done.users {
            println!(
                "{user}\t{}",
                secrets.join(format!("{user}.password")).display()
            );
        }
        Ok(())
    }
}

impl DeadCommand {
    async fn run(self, broker: &Broker) -> Result<ExitCode> {
        match self {
            Self::List {
                queue,
                reason,
                scan,
            } => {
                let request = ListRequest {
                    queue,
                    reason,
                    limit: scan.limit,
                };
                let listing = list::list(broker, &request).await?;
                print!("{}", list::render(&listing));
                Ok(ExitCode::SUCCESS)
            }
            Self::Show { id, queue, scan } => {
                let found = show::show(broker, &id, queue.as_ref(), scan.limit).await?;
                if found.is_empty() {
                    eprintln!("no dead letter with id {id}");
                    return Ok(ExitCode::FAILURE);
                }
                let shown: Vec<String> = found.iter().map(show::render).collect();
                print!("{}", shown.join("\n"));
                Ok(ExitCode::SUCCESS)
            }
            Self::Replay { choice, audit } => {
                let log = audit.log();
                let record = crate::replay(broker, &choice.choice(), &log).await?;
                Ok(report("replayed", &record, &log))
            }
            Self::Drop { choice, yes, audit } => {
                let log = audit.log();
                let choice = choice.choice();
                let confirm = async |chosen: &[DeadLetter]| yes || ask(chosen).await;
                match crate::discard(broker, &choice, confirm, &log).await? {
                    Some(record) => Ok(report("dropped", &record, &log)),
                    None => {
                        println!("nothing dropped");
                        Ok(ExitCode::FAILURE)
                    }
                }
            }
        }
    }
}

/// Prints what was done and its audit line; fails when the action stopped early.
fn report(done: &str, record: &AuditRecord, log: &AuditLog) -> ExitCode {
    let destination = match &record.replayed_to {
        Some(queue) => format!(" to {queue}"),
        None => String::new(),
    };
    println!(
        "{done} {} dead letter(s) from {}{destination}",
        record.count, record.queue
    );
    for message in &record.messages {
        println!(
            "  {}  {}  {}",
            message.message_id.as_deref().unwrap_or("-"),
            message.routing_key,
            message.reason.as_deref().unwrap_or("-")
        );
    }
    println!("audit ({}): {}", log.path().display(), record.to_line());
    if record.limit_reached {
        eprintln!("stopped at --limit: chosen dead letters beyond it were not seen");
    }
    match &record.error {
        Some(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}

/// Shows the chosen dead letters and asks on stdin whether to drop them.
async fn ask(chosen: &[DeadLetter]) -> bool {
    let mut prompt = format!("about to drop {} dead letter(s):\n", chosen.len());
    for letter in chosen {
        prompt.push_str(&format!(
            "  {}  {}  {}  {}\n",
            letter.queue,
            letter.id_or_dash(),
            letter.routing_key,
            letter.reason.as_deref().unwrap_or("-")
        ));
    }
    prompt.push_str("drop them for good? [y/N] ");
    let answer = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(prompt.as_bytes());
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if matches!(line.trim().to_lowercase().as_str(), "y" | "yes"))
}

fn failed(error: &crate::Error) -> ExitCode {
    eprintln!("error: {}", error_chain(error));
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use secrecy::ExposeSecret;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("shopctl").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_replay_takes_exactly_one_selector_and_a_queue() {
        let Cli {
            command: Command::Dead(DeadCommand::Replay { choice, .. }),
            ..
        } = parse(&["dead", "replay", "--queue", "billing", "--id", "a", "b"]).unwrap()
        else {
            panic!("not a replay");
        };
        let choice = choice.choice();
        assert_eq!(choice.queue.name(), "billing.queue.dead");
        assert_eq!(choice.selector, Selector::Ids(vec!["a".into(), "b".into()]));

        for bad in [
            &["dead", "replay", "--queue", "billing"][..],
            &["dead", "replay", "--all"],
            &[
                "dead", "replay", "--queue", "billing", "--all", "--reason", "x",
            ],
            &["dead", "drop", "--queue", "billing.retry.50ms", "--all"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_token_is_for_exactly_one_customer_or_staff() {
        let holder = |args: &[&str]| match parse(args).map(|cli| cli.command) {
            Ok(Command::Token(args)) => Ok(args.request().holder),
            Ok(_) => panic!("not a token command"),
            Err(error) => Err(error.kind()),
        };
        assert_eq!(
            holder(&["token", "--customer", "alice"]),
            Ok(Holder::Customer("alice".into()))
        );
        assert_eq!(
            holder(&["token", "--staff"]),
            Ok(Holder::Staff("staff".into()))
        );
        assert_eq!(
            holder(&["token", "--staff", "eve"]),
            Ok(Holder::Staff("eve".into()))
        );
        assert!(holder(&["token"]).is_err());
        assert!(holder(&["token", "--customer", "a", "--staff"]).is_err());
    }

    #[test]
    fn connection_flags_may_follow_the_command() {
        let cli = parse(&[
            "dead",
            "list",
            "--vhost",
            "shop",
            "--user",
            "ops",
            "--password",
            "s3cr3t",
        ])
        .unwrap();
        assert_eq!(cli.connection.vhost, "shop");
        assert_eq!(cli.connection.username, "ops");
        assert_eq!(cli.connection.password.expose_secret(), "s3cr3t");
        assert!(!format!("{cli:?}").contains("s3cr3t"));
    }

    #[test]
    fn the_help_shows_no_password() {
        let help = Cli::command().render_long_help().to_string();
        let password = help
            .split_once("--password")
            .and_then(|(_, rest)| rest.split_once("--management-url"))
            .map(|(password, _)| password)
            .unwrap_or_else(|| panic!("no --password in {help}"));
        assert!(
            password.contains("[env: SHOP__BUS__BROKER__PASSWORD]"),
            "{password}"
        );
        assert!(!password.contains("default"), "{password}");
    }
}
