//! Users, carriers and dashboard figures, on SQLite and on PostgreSQL.

use domain::Role;
use service::audit::Actor;
use service::carriers::{create_carrier, NewCarrier};
use service::users::{self, InitialAdmin, NewUser};
use service::{dashboard, testing, ServiceError};

fn carrier(code: &str, kind: &str) -> NewCarrier {
    NewCarrier {
        name: format!("Carrier {code}"),
        account_code: code.into(),
        carrier_type: kind.into(),
        currency: "usd".into(),
    }
}

#[tokio::test]
async fn a_user_signs_in_only_with_the_right_password() {
    for env in testing::backends().await {
        let db = &env.db;
        users::create_user(
            db,
            NewUser {
                email: " Ops@Example.COM ".into(),
                password: "correct horse battery".into(),
                role: Role::Admin,
                carrier_id: None,
            },
        )
        .await
        .unwrap();
        let ok = users::authenticate(db, "ops@example.com", "correct horse battery")
            .await
            .unwrap()
            .expect("right password signs in");
        assert_eq!(
            (ok.email.as_str(), ok.role),
            ("ops@example.com", Role::Admin),
            "{}",
            env.name
        );
        assert!(
            users::authenticate(db, "OPS@example.com", "wrong password!!")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            users::authenticate(db, "nobody@example.com", "correct horse battery")
                .await
                .unwrap()
                .is_none()
        );
        let row = users::find_by_email(db, "ops@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(
            row.last_sign_in_at.is_some(),
            "{}: last sign-in recorded",
            env.name
        );
        assert!(
            row.password_hash.starts_with("$argon2id$"),
            "stored as Argon2id PHC"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn bad_users_are_refused_field_by_field() {
    for env in testing::backends().await {
        let db = &env.db;
        let err = users::create_user(
            db,
            NewUser {
                email: "not-an-email".into(),
                password: "short".into(),
                role: Role::Customer,
                carrier_id: None,
            },
        )
        .await
        .unwrap_err();
        let ServiceError::Validation(fields) = err else {
            panic!("{}: {err:?}", env.name)
        };
        assert!(fields.get("email").is_some());
        assert!(fields.get("password").is_some());
        assert_eq!(
            fields.get("carrier_id"),
            Some("A customer user needs a carrier.")
        );

        let err = users::create_user(
            db,
            NewUser {
                email: "c@example.com".into(),
                password: "long enough password".into(),
                role: Role::Customer,
                carrier_id: Some(999),
            },
        )
        .await
        .unwrap_err();
        let ServiceError::Validation(fields) = err else {
            panic!()
        };
        assert_eq!(
            fields.get("carrier_id"),
            Some("There is no carrier with id 999.")
        );

        let new = NewUser {
            email: "dup@example.com".into(),
            password: "long enough password".into(),
            role: Role::Admin,
            carrier_id: None,
        };
        users::create_user(db, new.clone()).await.unwrap();
        let err = users::create_user(db, new).await.unwrap_err();
        assert!(
            matches!(err, ServiceError::Conflict(ref m) if m.contains("dup@example.com")),
            "{err:?}"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn the_first_start_creates_one_super_admin() {
    for env in testing::backends().await {
        let db = &env.db;
        let first = users::ensure_initial_admin(db, None, None).await.unwrap();
        let InitialAdmin::CreatedWithGeneratedPassword { email, password } = first else {
            panic!("{}: {first:?}", env.name)
        };
        assert_eq!(email, users::DEFAULT_ADMIN_EMAIL);
        assert_eq!(password.len(), 20);
        let admin = users::authenticate(db, &email, &password)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(admin.role, Role::SuperAdmin);
        assert_eq!(
            users::ensure_initial_admin(db, Some("x@example.com"), Some("another password"))
                .await
                .unwrap(),
            InitialAdmin::AlreadyPresent
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn carriers_validate_and_dashboards_count_what_exists() {
    for env in testing::backends().await {
        let db = &env.db;
        let acme = create_carrier(db, &Actor::system(), carrier("acme-01", "customer"))
            .await
            .unwrap();
        assert_eq!(
            (acme.account_code.as_str(), acme.currency.as_str()),
            ("ACME-01", "USD")
        );
        create_carrier(db, &Actor::system(), carrier("TELCO", "both"))
            .await
            .unwrap();
        create_carrier(db, &Actor::system(), carrier("WHOLE", "supplier"))
            .await
            .unwrap();
        let err = create_carrier(db, &Actor::system(), carrier("acme-01", "customer"))
            .await
            .unwrap_err();
        let ServiceError::Validation(fields) = err else {
            panic!("{}: {err:?}", env.name)
        };
        assert_eq!(
            fields.get("account_code"),
            Some("Account code ACME-01 is already used by Carrier acme-01. Choose another.")
        );
        let err = create_carrier(
            db,
            &Actor::system(),
            NewCarrier {
                name: " ".into(),
                account_code: "a b".into(),
                carrier_type: "vendor".into(),
                currency: "dollars".into(),
            },
        )
        .await
        .unwrap_err();
        let ServiceError::Validation(fields) = err else {
            panic!()
        };
        for field in ["name", "account_code", "carrier_type", "currency"] {
            assert!(fields.get(field).is_some(), "{field} flagged");
        }
        users::create_user(
            db,
            NewUser {
                email: "a@x.io".into(),
                password: "long enough password".into(),
                role: Role::Admin,
                carrier_id: None,
            },
        )
        .await
        .unwrap();
        users::create_user(
            db,
            NewUser {
                email: "c@acme.io".into(),
                password: "long enough password".into(),
                role: Role::Customer,
                carrier_id: Some(acme.id),
            },
        )
        .await
        .unwrap();

        let counts = dashboard::admin_counts(db).await.unwrap();
        assert_eq!(
            (
                counts.carriers,
                counts.active_carriers,
                counts.customer_carriers,
                counts.supplier_carriers,
                counts.staff_users,
                counts.customer_users
            ),
            (3, 3, 2, 2, 1, 1),
            "{}",
            env.name
        );
        let portal = dashboard::portal_summary(db, acme.id).await.unwrap();
        assert_eq!(
            (portal.carrier_name.as_str(), portal.portal_users),
            ("Carrier acme-01", 1)
        );
        assert!(matches!(
            dashboard::portal_summary(db, 4242).await,
            Err(ServiceError::NotFound("carrier"))
        ));
        env.cleanup().await;
    }
}
