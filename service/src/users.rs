//! People who sign in: creating them, checking their password, the first super admin.
//!
//! Passwords are hashed with Argon2id (RFC 9106) at the crate's default parameters and
//! stored as PHC strings. Hashing runs on the blocking pool, never on a request thread.

use argon2::password_hash::{phc::PasswordHash, PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use chrono::Utc;
use domain::{EmailAddress, FieldErrors, Password, Role};
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::entity::{carrier, user};
use crate::{ServiceError, ServiceResult};

/// What the web layer keeps about the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// Set for customers: the only carrier whose data they see.
    pub carrier_id: Option<i64>,
    /// Changes whenever the password changes, which ends other sessions.
    pub password_hash: String,
}

/// The stored role of `m`; an unknown spelling is our data's fault (`Internal`).
fn role_of(m: &user::Model) -> ServiceResult<Role> {
    Role::parse(&m.role).map_err(|e| ServiceError::Internal(format!("user {}: {e}", m.id)))
}

impl TryFrom<user::Model> for SessionUser {
    type Error = ServiceError;
    fn try_from(m: user::Model) -> ServiceResult<Self> {
        let role = role_of(&m)?;
        Ok(SessionUser {
            id: m.id,
            email: m.email,
            role,
            carrier_id: m.carrier_id,
            password_hash: m.password_hash,
        })
    }
}

/// Input for [`create_user`]; raw text as typed, validated there.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub role: Role,
    /// Required for `customer`, refused for staff.
    pub carrier_id: Option<i64>,
}

/// Hashes `password` with Argon2id and a fresh random salt (PHC string).
pub async fn hash_password(password: &Password) -> ServiceResult<String> {
    let secret = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(secret.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(format!("hashing: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("hashing task: {e}")))?
}

async fn verify_password(candidate: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(candidate.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

// A real hash of a random password, verified when the e-mail is unknown so both answers
// take as long (no user enumeration by timing).
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn dummy_hash() -> String {
    if let Some(h) = DUMMY_HASH.get() {
        return h.clone();
    }
    let random = Alphanumeric.sample_string(&mut rand::rng(), 24);
    let password = Password::parse(&random).expect("24 characters");
    let hash = hash_password(&password).await.unwrap_or_default();
    DUMMY_HASH.get_or_init(|| hash).clone()
}

/// Creates a user after checking every field.
///
/// Errors: `Validation` (bad e-mail or password, customer without carrier, staff with a
/// carrier, unknown carrier — each names its field), `Conflict` (e-mail taken).
pub async fn create_user(db: &DatabaseConnection, new: NewUser) -> ServiceResult<user::Model> {
    let mut errors = FieldErrors::new();
    let email = EmailAddress::parse(&new.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    let password = Password::parse(&new.password)
        .map_err(|m| errors.add("password", m))
        .ok();
    match (new.role, new.carrier_id) {
        (Role::Customer, None) => errors.add("carrier_id", "A customer user needs a carrier."),
        (Role::Customer, Some(id)) => {
            if carrier::Entity::find_by_id(id).one(db).await?.is_none() {
                errors.add("carrier_id", format!("There is no carrier with id {id}."));
            }
        }
        (_, Some(_)) => errors.add("carrier_id", "Staff users do not belong to a carrier."),
        (_, None) => {}
    }
    let (Some(email), Some(password)) = (email, password) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    if find_by_email(db, email.as_str()).await?.is_some() {
        return Err(ServiceError::Conflict(format!(
            "a user with e-mail {email} already exists"
        )));
    }
    let now = Utc::now();
    let model = user::ActiveModel {
        email: Set(email.as_str().to_owned()),
        password_hash: Set(hash_password(&password).await?),
        role: Set(new.role.as_str().to_owned()),
        carrier_id: Set(new.carrier_id),
        last_sign_in_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(model.insert(db).await?)
}

/// The user with this (normalised) e-mail.
pub async fn find_by_email(
    db: &DatabaseConnection,
    email: &str,
) -> ServiceResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?)
}

/// The user with this id, as the session keeps it.
pub async fn find_session_user(
    db: &DatabaseConnection,
    id: i64,
) -> ServiceResult<Option<SessionUser>> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(SessionUser::try_from)
        .transpose()
}

/// Checks an e-mail and password. `Ok(None)` when either is wrong (the caller must not
/// say which). On success records `last_sign_in_at` (UTC, server clock).
pub async fn authenticate(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> ServiceResult<Option<SessionUser>> {
    let found = find_by_email(db, email).await?;
    let phc = match &found {
        Some(u) => u.password_hash.clone(),
        None => dummy_hash().await,
    };
    let ok = verify_password(password.to_owned(), phc).await;
    match found {
        Some(u) if ok => {
            let mut active: user::ActiveModel = u.into();
            let now = Utc::now();
            active.last_sign_in_at = Set(Some(now));
            active.updated_at = Set(now);
            Ok(Some(active.update(db).await?.try_into()?))
        }
        _ => Ok(None),
    }
}

/// Number of users of each role: (super admins + admins, customers).
pub async fn count_by_kind(db: &DatabaseConnection) -> ServiceResult<(u64, u64)> {
    let customers = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Customer.as_str()))
        .count(db)
        .await?;
    let all = user::Entity::find().count(db).await?;
    Ok((all - customers, customers))
}

/// One row of the users list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub carrier_id: Option<i64>,
    pub carrier_name: Option<String>,
    pub last_sign_in_at: Option<chrono::DateTime<Utc>>,
    pub created_at: chrono::DateTime<Utc>,
}

/// Every user, staff first then by e-mail, with the carrier's name for customers.
/// (User counts are small: a carrier operator has tens, not thousands.)
pub async fn list_users(db: &DatabaseConnection) -> ServiceResult<Vec<UserRow>> {
    let rows = user::Entity::find()
        .find_also_related(carrier::Entity)
        .order_by_asc(user::Column::Role)
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|(u, c)| {
            Ok(UserRow {
                role: role_of(&u)?,
                id: u.id,
                email: u.email,
                carrier_id: u.carrier_id,
                carrier_name: c.map(|c| c.name),
                last_sign_in_at: u.last_sign_in_at,
                created_at: u.created_at,
            })
        })
        .collect()
}

/// What [`ensure_initial_admin`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitialAdmin {
    /// Users already exist; nothing was done.
    AlreadyPresent,
    /// A super admin was created with the configured password.
    Created { email: String },
    /// A super admin was created with this generated password (print it once).
    CreatedWithGeneratedPassword { email: String, password: String },
}

/// E-mail of the super admin created on first start when none is configured.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@didtron.local";

/// On first start (no user at all), creates a super admin with `email` (default
/// [`DEFAULT_ADMIN_EMAIL`]) and `password`, or a generated 20-character password.
///
/// Errors: `Validation` when the configured e-mail or password breaks the policy.
pub async fn ensure_initial_admin(
    db: &DatabaseConnection,
    email: Option<&str>,
    password: Option<&str>,
) -> ServiceResult<InitialAdmin> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(InitialAdmin::AlreadyPresent);
    }
    let email = email.unwrap_or(DEFAULT_ADMIN_EMAIL).to_owned();
    let generated = password.is_none();
    let password = match password {
        Some(p) => p.to_owned(),
        None => Alphanumeric.sample_string(&mut rand::rng(), 20),
    };
    let created = create_user(
        db,
        NewUser {
            email,
            password: password.clone(),
            role: Role::SuperAdmin,
            carrier_id: None,
        },
    )
    .await?;
    Ok(if generated {
        InitialAdmin::CreatedWithGeneratedPassword {
            email: created.email,
            password,
        }
    } else {
        InitialAdmin::Created {
            email: created.email,
        }
    })
}
