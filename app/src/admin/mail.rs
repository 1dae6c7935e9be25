//! The mail outbox: `/admin/mail` (every message DIDTron has written — credit alerts
//! now — newest first, by status, with how it leaves: the SMTP relay, or nowhere when
//! `SMTP_URL` is unset) and `/admin/mail/{id}` (one message, whole, with "Send again"
//! for a failed one). Staff only.

use domain::listing::Page;
use domain::mail::{MailDetail, MailQuery, MailRow, MailSummary};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_router::hooks::use_location;

use crate::admin::cdrs::utc;
use crate::components::{
    load_in_browser, use_pages, use_toaster, Column, DataTable, ErrorPanel, Loading, NotFound,
    PageHeader, StatTile,
};
use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::server::{actor, require, respond, state},
    domain::Role,
};

/// Messages per status and the relay (GET).
#[server(prefix = "/fn", endpoint = "admin/mail/summary", input = GetUrl)]
pub async fn fetch_mail_summary() -> Result<MailSummary, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let state = state()?;
            Ok(service::mail::summary(&state.db, state.mail_relay.clone()).await?)
        }
        .await,
    )
}

/// A page of the outbox, newest first (GET).
#[server(prefix = "/fn", endpoint = "admin/mail", input = GetUrl)]
pub async fn mail_page(#[server(default)] query: MailQuery) -> Result<Page<MailRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::mail::outbox_page(&state()?.db, &query).await?)
        }
        .await,
    )
}

/// One message, whole (GET).
#[server(prefix = "/fn", endpoint = "admin/mail/message", input = GetUrl)]
pub async fn fetch_mail_message(id: i64) -> Result<MailDetail, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::mail::message(&state()?.db, id).await?)
        }
        .await,
    )
}

/// Queues failed message `id` again; its attempts start over.
#[server(prefix = "/fn", endpoint = "admin/mail/send-again")]
pub async fn send_mail_again(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            service::mail::send_again(&state()?.db, &actor, id).await?;
            Ok(())
        }
        .await,
    )
}

fn status_tag(status: &str) -> &'static str {
    match status {
        "sent" => "tag tag--ok",
        "queued" => "tag tag--warn",
        _ => "tag tag--crit",
    }
}

fn kind_label(kind: &str) -> String {
    match kind {
        "credit_alert" => "Credit alert".into(),
        other => other.replace('_', " "),
    }
}

/// The module: the list or one message, by path.
#[component]
pub fn MailModule() -> impl IntoView {
    let location = use_location();
    let path = Memo::new(move |_| location.pathname.get());
    move || {
        let path = path.get();
        let rest: Vec<&str> = path
            .trim_start_matches("/admin/mail")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match rest.as_slice() {
            [] => view! { <MailList/> }.into_any(),
            [id] => match id.parse::<i64>() {
                Ok(id) => view! { <MailPage id/> }.into_any(),
                Err(_) => view! { <NotFound/> }.into_any(),
            },
            _ => view! { <NotFound/> }.into_any(),
        }
    }
}

/// How mail leaves, in words.
fn delivery_text(relay: &Option<String>) -> String {
    match relay {
        Some(relay) => format!("Mail is delivered through the SMTP relay {relay}."),
        None => "SMTP is not configured (SMTP_URL): messages are kept here and not sent. \
                 Set SMTP_URL and restart to deliver them."
            .into(),
    }
}

#[component]
fn MailList() -> impl IntoView {
    let status = RwSignal::new(String::new());
    let query = Memo::new(move |_| MailQuery {
        status: status.get(),
        ..MailQuery::default()
    });
    let pages = use_pages(query, mail_page);
    let (summary, reload_summary) = load_in_browser(fetch_mail_summary);
    let columns = vec![
        Column::new("created", "Written (UTC)", |r: &MailRow| {
            view! { <a href=format!("/admin/mail/{}", r.id) title=r.created_at.clone()>{utc(&r.created_at)}</a> }.into_any()
        }),
        Column::new("kind", "Kind", |r: &MailRow| kind_label(&r.kind).into_any()),
        Column::new("to", "To", |r: &MailRow| r.recipients.clone().into_any()),
        Column::new("subject", "Subject", |r: &MailRow| {
            r.subject.clone().into_any()
        }),
        Column::new("status", "Status", |r: &MailRow| {
            view! { <span class=status_tag(&r.status)>{r.status.clone()}</span> }.into_any()
        }),
        Column::new("attempts", "Attempts", |r: &MailRow| {
            r.attempts.to_string().into_any()
        })
        .numeric(),
        Column::new("when", "Sent or next try (UTC)", |r: &MailRow| {
            match (&r.sent_at, &r.next_attempt_at) {
                (Some(sent), _) => utc(sent),
                (None, Some(next)) => format!("next try {}", utc(next)),
                (None, None) => "—".into(),
            }
            .into_any()
        }),
        Column::new("error", "Last error", |r: &MailRow| {
            r.last_error.clone().unwrap_or_default().into_any()
        }),
    ];
    let reload = pages.reload;
    view! {
        <PageHeader title="Mail outbox" description="Every message DIDTron writes (credit alerts), newest first.">
            <button type="button" class="button" data-testid="refresh-mail"
                on:click=move |_| { reload.run(()); reload_summary.run(()); }>"Refresh"</button>
        </PageHeader>
        {move || match summary.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=reload_summary/> }.into_any(),
            Some(Ok(s)) => view! {
                <p class=if s.relay.is_some() { "alert alert--info" } else { "alert alert--warn" }
                    data-testid="mail-delivery">{delivery_text(&s.relay)}</p>
                <div class="stats" data-testid="mail-counts">
                    <StatTile label="Queued" value=s.queued.to_string() detail="waiting or retrying"/>
                    <StatTile label="Sent" value=s.sent.to_string()/>
                    <StatTile label="Failed" value=s.failed.to_string() detail="refused or out of attempts"/>
                </div>
            }.into_any(),
        }}
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label class="field__label" for="mail-status">"Status"</label>
                <select class="input" id="mail-status" prop:value=status
                    on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    <option value="queued">"Queued"</option>
                    <option value="sent">"Sent"</option>
                    <option value="failed">"Failed"</option>
                </select>
            </div>
        </form>
        <DataTable caption="Mail outbox" columns rows=pages.rows state=pages.state
            row_href=|r: &MailRow| format!("/admin/mail/{}", r.id)
            empty="No message. Credit alerts write here when a carrier's available credit falls below a threshold."
            has_more=pages.has_more() on_more=pages.more on_retry=pages.reload testid="mail-table"/>
    }
}

#[component]
fn MailPage(id: i64) -> impl IntoView {
    let (message, reload) = load_in_browser(move || fetch_mail_message(id));
    move || match message.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(detail)) => view! { <MailLoaded detail reload/> }.into_any(),
        Some(Err(AppError::NotFound)) => view! { <NotFound/> }.into_any(),
        Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
    }
}

#[component]
fn MailLoaded(detail: MailDetail, reload: Callback<()>) -> impl IntoView {
    let toaster = use_toaster();
    let r = detail.row;
    let id = r.id;
    let again = Action::new(move |_: &()| async move { send_mail_again(id).await });
    Effect::new(move |_| match again.value().get() {
        Some(Ok(())) => {
            toaster.success("Queued again: it goes with the next delivery run");
            reload.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not queued: {e}")),
        None => {}
    });
    let failed = r.status == "failed";
    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/admin/mail">"Mail outbox"</a>" / "{format!("Message {id}")}</nav>
        <PageHeader title=r.subject.clone() description=format!("{} to {}", kind_label(&r.kind), r.recipients)>
            {failed.then(|| view! {
                <button type="button" class="button button--primary" data-testid="send-again"
                    disabled=move || again.pending().get()
                    on:click=move |_| { again.dispatch(()); }>"Send again"</button>
            })}
        </PageHeader>
        {r.last_error.clone().map(|e| view! {
            <p class="alert alert--crit" role="alert" data-testid="mail-error">{format!("Last error: {e}")}</p>
        })}
        <section class="panel" aria-label="Delivery">
            <h2 class="panel__title">"Delivery"</h2>
            <dl class="facts">
                <dt>"Status"</dt><dd><span class=status_tag(&r.status) data-testid="mail-status">{r.status.clone()}</span></dd>
                <dt>"Written (UTC)"</dt><dd class="num">{utc(&r.created_at)}</dd>
                <dt>"Attempts"</dt><dd class="num">{r.attempts}</dd>
                <dt>"Sent (UTC)"</dt><dd class="num">{r.sent_at.as_deref().map(utc).unwrap_or_else(|| "not yet".into())}</dd>
                <dt>"Next try (UTC)"</dt><dd class="num">{r.next_attempt_at.as_deref().map(utc).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Carrier"</dt><dd>{detail.carrier.clone().unwrap_or_else(|| "—".into())}</dd>
            </dl>
        </section>
        <section class="panel" aria-label="Message">
            <h2 class="panel__title">"Message"</h2>
            <pre class="raw mail-body" tabindex="0" data-testid="mail-body">{detail.body}</pre>
        </section>
    }
}
