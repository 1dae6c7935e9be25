//! The CDRs module: `/admin/cdrs` (every call the switches reported, filtered, with
//! "Process again" for rejected and unrated ones), `/admin/cdrs/{id}` (one CDR: both
//! legs' explanations and the record as received), `/admin/spend` (the rolling 24
//! hours, live), `/admin/totals` (balance and totals per period), `/admin/balances`
//! (carrier balances and credit), `/admin/cdr-files` (CDR file imports) and
//! `/admin/api-keys` (the switches' API keys).

pub mod api;

use domain::cdr::views::{ApiKeyRow, BalanceRow, CdrDetail, CdrQuery, CdrRow};
use domain::cdr::{validate_posting, Disposition, LegRating, PostingForm, PostingKind};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::admin::carriers::options_of;
use crate::admin::rate_plans::api::rate_plan_carriers;
use crate::bind;
use crate::components::{
    load_in_browser, save_action, submit, use_pages, use_toaster, Column, ConfirmDelete, DataTable,
    Dialog, ErrorPanel, FormActions, FormErrors, Loading, NotFound, PageHeader, SelectField,
    StatTile, TextField,
};
use crate::error::AppError;
use api::*;

/// `2026-11-21T10:00:00.120Z` → `2026-11-21 10:00:00` (UTC).
pub(crate) fn utc(rfc3339: &str) -> String {
    rfc3339.get(..19).unwrap_or(rfc3339).replace('T', " ")
}

fn status_tag(status: &str) -> &'static str {
    match status {
        "rated" => "tag tag--ok",
        "unrated" => "tag tag--warn",
        _ => "tag tag--crit",
    }
}

/// The module: the list or one CDR, by path.
#[component]
pub fn CdrsModule() -> impl IntoView {
    let location = use_location();
    let path = Memo::new(move |_| location.pathname.get());
    move || {
        let path = path.get();
        let rest: Vec<&str> = path
            .trim_start_matches("/admin/cdrs")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match rest.as_slice() {
            [] => view! { <CdrList/> }.into_any(),
            [id] => match id.parse::<i64>() {
                Ok(id) => view! { <CdrPage id/> }.into_any(),
                Err(_) => view! { <NotFound/> }.into_any(),
            },
            _ => view! { <NotFound/> }.into_any(),
        }
    }
}

#[component]
fn CdrList() -> impl IntoView {
    let status = RwSignal::new(String::new());
    let disposition = RwSignal::new(String::new());
    let carrier = RwSignal::new(String::new());
    let interconnect = RwSignal::new(String::new());
    let number = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let query = Memo::new(move |_| CdrQuery {
        status: status.get(),
        disposition: disposition.get(),
        carrier_id: carrier.get(),
        interconnect_id: interconnect.get(),
        number: number.get(),
        from: from.get(),
        to: to.get(),
        reason_code: reason.get(),
        ..CdrQuery::default()
    });
    let (problems, reload_problems) = load_in_browser(fetch_cdr_problems);
    let pages = use_pages(query, cdrs_page);
    let (carriers, _) = load_in_browser(rate_plan_carriers);
    let (interconnects, _) = load_in_browser(fetch_cdr_file_choices);
    let toaster = use_toaster();
    let reload = pages.reload;
    let again = Action::new(move |_: &()| async move { reprocess_cdrs(None).await });
    let (exports, reload_exports) = load_in_browser(fetch_cdr_exports);
    let export = Action::new(move |q: &CdrQuery| {
        let q = q.clone();
        async move { export_cdrs(q).await }
    });
    Effect::new(move |_| match export.value().get() {
        Some(Ok(())) => {
            toaster.success("Export queued: it appears under Exports when ready");
            reload_exports.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not exported: {e}")),
        None => {}
    });
    // Poll while an export is being written.
    Effect::new(move |_| {
        let busy = exports.with(|e| {
            matches!(e, Some(Ok(rows)) if rows.iter().any(|r| matches!(r.status.as_str(), "queued" | "running")))
        });
        if busy {
            set_timeout(
                move || {
                    leptos::task::spawn_local(async move {
                        let fresh = fetch_cdr_exports().await;
                        exports.try_set(Some(fresh));
                    })
                },
                std::time::Duration::from_secs(2),
            );
        }
    });
    Effect::new(move |_| match again.value().get() {
        Some(Ok(r)) => {
            toaster.success(format!(
                "{} processed again: {} rated, {} unrated, {} rejected",
                r.received, r.rated, r.unrated, r.rejected
            ));
            reload.run(());
            reload_problems.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not processed: {e}")),
        None => {}
    });
    let columns = vec![
        Column::new("setup", "Setup (UTC)", |r: &CdrRow| {
            view! { <a href=format!("/admin/cdrs/{}", r.id) title=r.setup_at.clone()>{utc(&r.setup_at)}</a> }.into_any()
        }),
        Column::new("customer", "Customer", |r: &CdrRow| {
            r.customer.clone().unwrap_or_else(|| "—".into()).into_any()
        }),
        Column::new("supplier", "Supplier", |r: &CdrRow| {
            r.supplier.clone().unwrap_or_else(|| "—".into()).into_any()
        }),
        Column::new("b", "B-number", |r: &CdrRow| {
            view! { <code>{r.b_number.clone()}</code> }.into_any()
        }),
        Column::new("duration", "Duration (s)", |r: &CdrRow| {
            r.duration.clone().into_any()
        })
        .numeric(),
        Column::new("disposition", "Disposition", |r: &CdrRow| {
            let label = Disposition::parse(&r.disposition).map_or("—", |d| d.label());
            format!("{label} ({})", r.sip_code).into_any()
        }),
        Column::new("status", "Status", |r: &CdrRow| {
            view! {
                <span class=status_tag(&r.status) title=r.reason.clone().unwrap_or_default()>{r.status.clone()}</span>
                {r.reason.clone().map(|why| view! { <span class="cell-note">{why}</span> })}
            }
            .into_any()
        }),
        Column::new("revenue", "Revenue", |r: &CdrRow| {
            r.revenue.clone().into_any()
        })
        .numeric(),
        Column::new("cost", "Cost", |r: &CdrRow| r.cost.clone().into_any()).numeric(),
        Column::new("margin", "Margin", |r: &CdrRow| r.margin.clone().into_any()).numeric(),
        Column::new("currency", "Currency", |r: &CdrRow| {
            r.currency.clone().into_any()
        }),
    ];
    view! {
        <PageHeader title="CDRs" description="Every call the switches reported: rated on both legs, or kept with the reason it could not be.">
            <button type="button" class="button" data-testid="export-cdrs"
                disabled=move || export.pending().get()
                on:click=move |_| { export.dispatch(query.get_untracked()); }>"Export CSV"</button>
            <button type="button" class="button" data-testid="reprocess"
                disabled=move || again.pending().get()
                on:click=move |_| { again.dispatch(()); }>"Process rejected and unrated again"</button>
        </PageHeader>
        {move || exports.get().and_then(Result::ok).filter(|rows| !rows.is_empty()).map(|rows| view! {
            <details class="panel" open data-testid="cdr-exports">
                <summary class="panel__title">"Exports"</summary>
                <ul class="exports">
                    {rows.into_iter().map(|e| {
                        let what = format!("{} — {} rows", e.filters, e.rows_done);
                        let state = match e.status.as_str() {
                            "done" => view! {
                                <a href=format!("/admin/cdr-exports/{}/cdrs.csv", e.id) download>
                                    {format!("Download CSV ({} KB)", (e.file_size + 1023) / 1024)}
                                </a>
                            }.into_any(),
                            "failed" => view! { <span class="tag tag--crit">"Failed"</span>" "{e.error.clone()} }.into_any(),
                            _ => view! { <span class="tag tag--muted">"Writing…"</span> }.into_any(),
                        };
                        view! { <li>{utc(&e.created_at)}" UTC · "{what}" · "{state}</li> }
                    }).collect_view()}
                </ul>
            </details>
        })}
        {move || problems.get().and_then(Result::ok).filter(|rows| !rows.is_empty()).map(|rows| view! {
            <details class="panel" data-testid="cdr-problems">
                <summary class="panel__title">{format!("Needs attention: {} CDRs rejected or unrated", rows.iter().map(|r| r.count).sum::<i64>())}</summary>
                <table class="table">
                    <caption class="visually-hidden">"Rejected and unrated CDRs by reason"</caption>
                    <thead><tr><th scope="col">"Status"</th><th scope="col">"Reason"</th><th scope="col" class="num">"CDRs"</th><th scope="col">"Latest"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|r| {
                            let (s, code) = (r.status.clone(), r.reason_code.clone());
                            view! {
                                <tr>
                                    <td><span class=status_tag(&r.status)>{r.status.clone()}</span></td>
                                    <td><code>{r.reason_code.clone()}</code></td>
                                    <td class="num">{r.count}</td>
                                    <td>{r.example.clone()}</td>
                                    <td><button type="button" class="button button--small"
                                        aria-label=format!("Show the {} CDRs: {}", r.status, r.reason_code)
                                        on:click=move |_| { status.set(s.clone()); reason.set(code.clone()); }>"Show"</button></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        })}
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label class="field__label" for="cdrs-status">"Status"</label>
                <select class="input" id="cdrs-status" prop:value=status
                    on:change=move |ev| { status.set(event_target_value(&ev)); reason.set(String::new()); }>
                    <option value="">"All"</option>
                    <option value="rated">"Rated"</option>
                    <option value="unrated">"Unrated (no rate)"</option>
                    <option value="rejected">"Rejected (not mediated)"</option>
                </select>
            </div>
            <div class="field">
                <label class="field__label" for="cdrs-disposition">"Disposition"</label>
                <select class="input" id="cdrs-disposition" on:change=move |ev| disposition.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {Disposition::ALL.iter().map(|d| view! { <option value=d.as_str()>{d.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label class="field__label" for="cdrs-carrier">"Carrier"</label>
                <select class="input" id="cdrs-carrier" on:change=move |ev| carrier.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {move || carriers.get().and_then(Result::ok).unwrap_or_default().into_iter()
                        .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label class="field__label" for="cdrs-interconnect">"Interconnect"</label>
                <select class="input" id="cdrs-interconnect" on:change=move |ev| interconnect.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {move || interconnects.get().and_then(Result::ok).map(|c| view! {
                        <optgroup label="Ingress (customers)">
                            {c.customer_interconnects.into_iter()
                                .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                        </optgroup>
                        <optgroup label="Egress (suppliers)">
                            {c.supplier_interconnects.into_iter()
                                .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                        </optgroup>
                    })}
                </select>
            </div>
            <div class="field">
                <label class="field__label" for="cdrs-number">"B-number starts with"</label>
                <input class="input" id="cdrs-number" type="search" inputmode="numeric" prop:value=number
                    on:input=move |ev| number.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label class="field__label" for="cdrs-from">"From (UTC)"</label>
                <input class="input" id="cdrs-from" type="date" prop:value=from
                    on:change=move |ev| from.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label class="field__label" for="cdrs-to">"To (UTC)"</label>
                <input class="input" id="cdrs-to" type="date" prop:value=to
                    on:change=move |ev| to.set(event_target_value(&ev))/>
            </div>
        </form>
        <DataTable caption="CDRs" columns rows=pages.rows state=pages.state
            row_href=|r: &CdrRow| format!("/admin/cdrs/{}", r.id)
            empty="No CDR matches. Switches post CDRs to /api/v1/cdrs with an API key (Administration → API keys)."
            has_more=pages.has_more() on_more=pages.more on_retry=pages.reload testid="cdrs-table"/>
    }
}

#[component]
fn CdrPage(id: i64) -> impl IntoView {
    let (cdr, reload) = load_in_browser(move || fetch_cdr(id));
    move || match cdr.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(detail)) => view! { <CdrLoaded detail reload/> }.into_any(),
        Some(Err(AppError::NotFound)) => view! { <NotFound/> }.into_any(),
        Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
    }
}

/// One leg's explanation.
#[component]
fn LegFacts(title: &'static str, leg: Option<LegRating>) -> impl IntoView {
    view! {
        <section class="panel" aria-label=title>
            <h2 class="panel__title">{title}</h2>
            {match leg {
                None => view! { <p class="empty">"Not rated."</p> }.into_any(),
                Some(l) => view! {
                    <dl class="facts">
                        <dt>"Matched code"</dt><dd><code>{l.prefix}</code></dd>
                        <dt>"Destination"</dt><dd>{l.destination}</dd>
                        <dt>"Rate / min"</dt><dd class="num">{format!("{} {}", domain::money::format_micros(l.rate_micros, 6), l.currency)}</dd>
                        <dt>"Connection fee"</dt><dd class="num">{domain::money::format_micros(l.connection_fee_micros, 6)}</dd>
                        <dt>"Increment"</dt><dd class="num">{l.increment}</dd>
                        <dt>"Minimum / grace"</dt><dd class="num">{format!("{} s / {} s", l.minimum_s, l.grace_s)}</dd>
                        <dt>"Talk time"</dt><dd class="num">{format!("{} s", l.duration_s)}</dd>
                        <dt>"Billed"</dt><dd class="num">{format!("{} s", l.billed_seconds)}</dd>
                        <dt>"Exact cost"</dt><dd class="num">{l.unrounded}</dd>
                        <dt>"Rounding"</dt><dd>{l.rounding}</dd>
                        <dt>"Cost"</dt><dd class="num"><strong>{domain::money::format_micros(l.cost_micros, 6)}</strong></dd>
                        <dt>"Rate plan"</dt><dd><a href=format!("/admin/rate-plans/{}", l.rate_plan_id)>{format!("Plan {}", l.rate_plan_id)}</a></dd>
                    </dl>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn CdrLoaded(detail: CdrDetail, reload: Callback<()>) -> impl IntoView {
    let d = detail;
    let toaster = use_toaster();
    let id = d.row.id;
    let again = Action::new(move |_: &()| async move { reprocess_cdrs(Some(vec![id])).await });
    Effect::new(move |_| match again.value().get() {
        Some(Ok(r)) => {
            toaster.success(if r.rated > 0 {
                "Rated and posted".to_owned()
            } else {
                "Processed again: still not rated".to_owned()
            });
            reload.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not processed: {e}")),
        None => {}
    });
    let pending = d.row.status != "rated";
    let translation: Vec<String> = d
        .explanation
        .translation
        .iter()
        .map(|s| {
            format!(
                "rule {}: {} {} → {}",
                s.rule_index + 1,
                s.target.label(),
                s.before,
                s.after
            )
        })
        .collect();
    let process_again = move || {
        pending.then(|| {
            view! {
                <button type="button" class="button button--primary" data-testid="reprocess-one"
                    disabled=move || again.pending().get()
                    on:click=move |_| { again.dispatch(()); }>"Process again"</button>
            }
        })
    };
    if d.unreadable {
        // Nothing of the call is known: why, and the text as it came.
        return view! {
            <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/admin/cdrs">"CDRs"</a>" / "{d.call_id.clone()}</nav>
            <PageHeader title="Unreadable record".to_owned() description=format!(
                "Sent by source {} and received {} UTC. DIDTron could not read it, so it is kept as it came; the records sent with it were stored and billed.",
                d.source, utc(&d.received_at))>
                {process_again()}
            </PageHeader>
            {d.row.reason.clone().map(|why| view! {
                <p class="alert alert--info" data-testid="cdr-reason">{why}</p>
            })}
            <AsReceived raw=d.raw.clone()/>
        }.into_any();
    }
    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/admin/cdrs">"CDRs"</a>" / "{d.call_id.clone()}</nav>
        <PageHeader title=format!("Call {}", d.call_id) description=format!("Leg {} from source {} ({}).", d.leg, d.source, d.source_ip)>
            {process_again()}
        </PageHeader>
        {d.row.reason.clone().map(|why| view! {
            <p class="alert alert--info" data-testid="cdr-reason">{format!("{}: {why}", d.row.status)}</p>
        })}
        <div class="stats">
            <StatTile label="Revenue" value=format!("{} {}", d.row.revenue, d.row.currency)/>
            <StatTile label="Cost" value=format!("{} {}", d.row.cost, d.row.currency)/>
            <StatTile label="Margin" value=format!("{} {}", d.row.margin, d.row.currency)/>
            <StatTile label="Duration" value=format!("{} s", d.row.duration) detail=d.pdd_ms.map(|p| format!("post-dial delay {p} ms")).unwrap_or_default()/>
        </div>
        <section class="panel" aria-label="Call">
            <h2 class="panel__title">"Call"</h2>
            <dl class="facts" data-testid="cdr-facts">
                <dt>"Status"</dt><dd><span class=status_tag(&d.row.status)>{d.row.status.clone()}</span></dd>
                <dt>"Disposition"</dt><dd>{format!("{} ({})", Disposition::parse(&d.row.disposition).map_or("—", |x| x.label()), d.row.sip_code)}</dd>
                <dt>"Setup (UTC)"</dt><dd class="num">{utc(&d.row.setup_at)}</dd>
                <dt>"Answer (UTC)"</dt><dd class="num">{d.answer_at.as_deref().map(utc).unwrap_or_else(|| "not answered".into())}</dd>
                <dt>"End (UTC)"</dt><dd class="num">{utc(&d.end_at)}</dd>
                <dt>"A-number"</dt><dd><code>{d.row.a_number.clone()}</code></dd>
                <dt>"B-number as dialled"</dt><dd><code>{d.b_dialled.clone()}</code></dd>
                <dt>"B-number (E.164)"</dt><dd><code>{d.row.b_number.clone()}</code></dd>
                <dt>"Tech prefix"</dt><dd>{d.explanation.tech_prefix.clone().unwrap_or_else(|| "none".into())}</dd>
                <dt>"Translation"</dt><dd>{if translation.is_empty() { "no rule changed a number".to_owned() } else { translation.join("; ") }}</dd>
                <dt>"Customer"</dt><dd>{format!("{} · {}", d.row.customer.clone().unwrap_or_else(|| "—".into()), d.customer_interconnect.clone().unwrap_or_else(|| "—".into()))}</dd>
                <dt>"Supplier"</dt><dd>{format!("{} · {}", d.row.supplier.clone().unwrap_or_else(|| "—".into()), d.supplier_interconnect.clone().unwrap_or_else(|| "—".into()))}</dd>
                <dt>"Route"</dt><dd><code>{d.route.clone().unwrap_or_else(|| "not routed".into())}</code></dd>
                <dt>"Received (UTC)"</dt><dd class="num">{utc(&d.received_at)}</dd>
            </dl>
        </section>
        <div class="panels">
            <LegFacts title="Customer leg (revenue)" leg=d.explanation.customer.clone()/>
            <LegFacts title="Supplier leg (cost)" leg=d.explanation.supplier.clone()/>
        </div>
        <AsReceived raw=d.raw.clone()/>
    }
    .into_any()
}

/// The record as the switch sent it.
#[component]
fn AsReceived(raw: String) -> impl IntoView {
    view! {
        <section class="panel" aria-label="As received">
            <h2 class="panel__title">"As received"</h2>
            <pre class="raw" tabindex="0">{raw}</pre>
        </section>
    }
}

/// `/admin/balances`: every carrier's account.
#[component]
pub fn BalancesPage() -> impl IntoView {
    let (rows, reload) = load_in_browser(carrier_balances);
    let posting: PostingTarget = RwSignal::new(None);
    let posting_open = RwSignal::new(false);
    Effect::new(move |_| {
        if posting.with(Option::is_some) {
            posting_open.set(true);
        }
    });
    Effect::new(move |_| {
        if !posting_open.get() {
            posting.set(None);
        }
    });
    view! {
        <PageHeader title="Carrier balances" description="Balance from the ledger (negative: the carrier owes us), credit limit and what is still available, lowest first. A customer with no credit left is blocked.">
            <button type="button" class="button" on:click=move |_| reload.run(())>"Refresh"</button>
        </PageHeader>
        {move || match rows.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
            Some(Ok(rows)) if rows.is_empty() => view! { <p class="empty">"No carriers yet."</p> }.into_any(),
            Some(Ok(rows)) => view! { <BalanceTable rows posting/> }.into_any(),
        }}
        <LedgerCheck/>
        <Dialog title="Post payment or adjustment" open=posting_open>
            <PostingDialog carrier=posting on_done=Callback::new(move |_| { posting_open.set(false); reload.run(()); })/>
        </Dialog>
    }
}

/// What the latest ledger check found.
#[component]
fn LedgerCheck() -> impl IntoView {
    let (check, _) = load_in_browser(fetch_ledger_check);
    move || {
        let text = match check.get() {
            None | Some(Err(_)) => return None,
            Some(Ok(None)) => "Ledger check: not run yet. The workers compare every running balance with its ledger every hour (LEDGER_CHECK_SECS).".to_owned(),
            Some(Ok(Some(c))) if c.carriers == 0 => format!(
                "Ledger check at {} UTC: no running balance yet.",
                utc(&c.checked_at)
            ),
            Some(Ok(Some(c))) if c.mismatches.is_empty() => format!(
                "Ledger check at {} UTC: all {} running balances equal their ledger.",
                utc(&c.checked_at),
                c.carriers
            ),
            Some(Ok(Some(c))) => format!(
                "Ledger check at {} UTC: {} of {} running balances differed from their ledger and were set to it: {}.",
                utc(&c.checked_at),
                c.mismatches.len(),
                c.carriers,
                c.mismatches
                    .iter()
                    .map(|(name, running, ledger)| format!("{name} ({running} → {ledger})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Some(view! { <p class="muted" data-testid="ledger-check">{text}</p> })
    }
}

fn posting_help(name: &str, currency: &str) -> String {
    format!(
        "To {name}'s account, in {currency}. A positive amount raises its available credit \
         (a payment received); a negative one lowers it."
    )
}

/// The carrier a payment is being posted to: `(id, name, currency)`.
type PostingTarget = RwSignal<Option<(i64, String, String)>>;

#[component]
fn PostingDialog(carrier: PostingTarget, on_done: Callback<()>) -> impl IntoView {
    let form = RwSignal::new(PostingForm {
        kind: "payment".into(),
        ..PostingForm::default()
    });
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Posted to the ledger",
        "Not posted",
        move |f: PostingForm| {
            let id = carrier.get_untracked().map_or(0, |c| c.0);
            post_to_ledger(id, f)
        },
        move |_| {
            form.set(PostingForm {
                kind: "payment".into(),
                ..PostingForm::default()
            });
            on_done.run(())
        },
    );
    view! {
        <p>{move || carrier.get().map(|(_, name, currency)| posting_help(&name, &currency))}</p>
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_posting, save); }>
            <SelectField label="Kind" name="kind" prefix="posting" bind=bind!(form.kind) errors
                options={options_of::<PostingKind>()}/>
            <TextField label="Amount" name="amount" prefix="posting" bind=bind!(form.amount) errors input_class="num"
                help="e.g. 500 or -12.50; at most 6 decimals."/>
            <TextField label="Note" name="memo" prefix="posting" bind=bind!(form.memo) errors
                help="e.g. the bank reference."/>
            <FormActions label="Post" pending=save.pending() errors/>
        </form>
    }
}

#[component]
fn BalanceTable(rows: Vec<BalanceRow>, posting: PostingTarget) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="balances-table">
                <caption class="visually-hidden">"Carrier balances"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Carrier"</th>
                        <th scope="col">"Billing"</th>
                        <th scope="col" class="num">"Balance"</th>
                        <th scope="col" class="num">"Credit limit"</th>
                        <th scope="col" class="num">"Available"</th>
                        <th scope="col">"Currency"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Last CDR (UTC)"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let target = (r.carrier_id, r.name.clone(), r.currency.clone());
                        let (status_class, status) = match (r.blocked, r.status.as_str()) {
                            (true, _) => ("tag tag--crit", "blocked".to_owned()),
                            (false, "active") => ("tag tag--ok", r.status.clone()),
                            _ => ("tag tag--muted", r.status.clone()),
                        };
                        view! {
                        <tr>
                            <td><a href=format!("/admin/carriers/{}", r.carrier_id)>{r.name}</a>" "<span class="cell-note">{r.account_code}</span>
                                {r.netted.map(|n| view! {
                                    <span class="cell-note" data-testid="netted">{format!("Calls as customer {} · as supplier {} · netted {}", n.as_customer, n.as_supplier, n.calls_net)}</span>
                                })}
                            </td>
                            <td>{if r.billing_mode == "prepaid" { "Prepaid" } else { "Postpaid" }}</td>
                            <td class="num">{r.balance}</td>
                            <td class="num">{r.credit_limit}</td>
                            <td class="num" class:negative={r.available_micros < 0}>{r.available}
                                {r.held_by_calls.map(|(amount, calls)| view! {
                                    <span class="cell-note" data-testid="held-by-calls">{format!("{amount} held by {calls} call{} in progress", if calls == 1 { "" } else { "s" })}</span>
                                })}
                            </td>
                            <td>{r.currency}</td>
                            <td><span class=status_class>{status}</span></td>
                            <td class="num">{r.last_cdr_at.as_deref().map(utc).unwrap_or_else(|| "none yet".into())}</td>
                            <td class="actions">
                                <button type="button" class="button button--small" aria-label=format!("Post payment to {}", target.1)
                                    on:click=move |_| posting.set(Some(target.clone()))>"Post payment"</button>
                            </td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// `/admin/api-keys`: the switches' keys.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let (rows, reload) = load_in_browser(api_key_rows);
    let open = RwSignal::new(false);
    let created = RwSignal::new(None::<NewApiKey>);
    view! {
        <PageHeader title="API keys" description="Keys switches and CDR sources use for /api/v1 (sent as Authorization: Bearer, X-API-Key, or the password of HTTP Basic). A key is shown once, when created.">
            <button type="button" class="button button--primary" data-testid="create-api-key"
                on:click=move |_| { created.set(None); open.set(true); }>"Create API key"</button>
        </PageHeader>
        {move || match rows.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
            Some(Ok(rows)) if rows.is_empty() => view! {
                <p class="empty">"No API key yet. Create one for each switch that sends CDRs."</p>
            }.into_any(),
            Some(Ok(rows)) => view! { <ApiKeyTable rows reload/> }.into_any(),
        }}
        <Dialog title="Create API key" open>
            <CreateApiKey created reload/>
        </Dialog>
    }
}

#[component]
fn CreateApiKey(created: RwSignal<Option<NewApiKey>>, reload: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let create = Action::new(move |n: &String| {
        let n = n.clone();
        async move { create_api_key(n).await }
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(key)) => {
            errors.clear();
            name.set(String::new());
            created.set(Some(key));
            reload.run(());
        }
        Some(Err(e)) => errors.show(&e),
        None => {}
    });
    move || {
        match created.get() {
        Some(key) => view! {
            <div class="alert alert--info" role="status" data-testid="new-api-key">
                <p>{format!("The key of {} — copy it now, it is not shown again:", key.name)}</p>
                <code class="secret">{key.secret}</code>
            </div>
        }.into_any(),
        None => view! {
            <form class="form" on:submit=move |ev| { ev.prevent_default(); create.dispatch(name.get_untracked()); }>
                <TextField label="Name" name="name" prefix="api-key" bind=(name.into(), Callback::new(move |v| name.set(v))) errors
                    help="The switch or CDR source it is for, e.g. kamailio-lon-1."/>
                <FormActions label="Create key" pending=create.pending() errors/>
            </form>
        }.into_any(),
    }
    }
}

#[component]
fn ApiKeyTable(rows: Vec<ApiKeyRow>, reload: Callback<()>) -> impl IntoView {
    let toaster = use_toaster();
    let revoke = Action::new(move |id: &i64| {
        let id = *id;
        async move { revoke_api_key(id).await }
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(())) => {
            toaster.success("API key revoked");
            reload.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not revoked: {e}")),
        None => {}
    });
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="api-keys-table">
                <caption class="visually-hidden">"API keys"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Key starts"</th>
                        <th scope="col">"Created by"</th>
                        <th scope="col">"Created (UTC)"</th>
                        <th scope="col">"Last used (UTC)"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|k| {
                        let id = k.id;
                        let name = k.name.clone();
                        view! {
                            <tr>
                                <td>{k.name}</td>
                                <td><code>{format!("{}…", k.prefix)}</code></td>
                                <td>{k.created_by}</td>
                                <td class="num">{utc(&k.created_at)}</td>
                                <td class="num">{k.last_used_at.as_deref().map(utc).unwrap_or_else(|| "never".into())}</td>
                                <td>{match &k.revoked_at {
                                    Some(at) => view! { <span class="tag tag--muted" title=at.clone()>"revoked"</span> }.into_any(),
                                    None => view! { <span class="tag tag--ok">"active"</span> }.into_any(),
                                }}</td>
                                <td class="actions">{k.revoked_at.is_none().then(|| view! {
                                    <ConfirmDelete what=format!("API key {name}") label="Revoke"
                                        on_confirm=Callback::new(move |_| { revoke.dispatch(id); })/>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// `/admin/spend`: the rolling 24 hours by customer and by supplier, with an hourly
/// chart per currency; refreshes every 30 s while the tab is visible.
#[component]
pub fn SpendPage() -> impl IntoView {
    let (spend, reload) = load_in_browser(fetch_spend_24h);
    // Refreshed in place (the figures stay on screen while the new ones load).
    crate::components::use_live_refresh(
        Signal::derive(|| true),
        Callback::new(move |_| {
            leptos::task::spawn_local(async move {
                let fresh = fetch_spend_24h().await;
                spend.try_set(Some(fresh));
            })
        }),
    );
    view! {
        <PageHeader title="24 hour spend" description="Traffic of the last 24 hours by customer and by supplier: revenue, cost, margin, minutes, calls and ASR. Refreshes every 30 seconds while this tab is open.">
            <button type="button" class="button" on:click=move |_| reload.run(())>"Refresh now"</button>
        </PageHeader>
        {move || match spend.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
            Some(Ok(s)) => view! {
                <p class="muted" data-testid="spend-as-of">{format!("As of {} UTC", utc(&s.as_of))}</p>
                {s.hours.iter().cloned().map(|(currency, hours)| view! { <HourChart currency hours/> }).collect_view()}
                <h2 class="section-title">"By customer (revenue)"</h2>
                <SpendTable caption="24 hour spend by customer" rows=s.customers.clone() testid="spend-customers"/>
                <h2 class="section-title">"By supplier (cost)"</h2>
                <SpendTable caption="24 hour spend by supplier" rows=s.suppliers.clone() testid="spend-suppliers"/>
            }.into_any(),
        }}
    }
}

#[component]
fn SpendTable(
    caption: &'static str,
    rows: Vec<domain::cdr::views::SpendRow>,
    testid: &'static str,
    /// Heading of the first column.
    #[prop(default = "Carrier")]
    first: &'static str,
    /// What to say without rows.
    #[prop(default = "No traffic in the last 24 hours.")]
    empty: &'static str,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" data-testid=testid>
                <caption class="visually-hidden">{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">{first}</th>
                        <th scope="col" class="num">"Calls"</th>
                        <th scope="col" class="num">"Answered"</th>
                        <th scope="col" class="num">"ASR %"</th>
                        <th scope="col" class="num">"ACD (s)"</th>
                        <th scope="col" class="num">"Minutes"</th>
                        <th scope="col" class="num">"Revenue"</th>
                        <th scope="col" class="num">"Cost"</th>
                        <th scope="col" class="num">"Margin"</th>
                        <th scope="col">"Currency"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td>{if r.carrier_id > 0 {
                                view! { <a href=format!("/admin/carriers/{}", r.carrier_id)>{r.name}</a> }.into_any()
                            } else {
                                r.name.into_any()
                            }}</td>
                            <td class="num">{r.calls}</td>
                            <td class="num">{r.answered}</td>
                            <td class="num">{r.asr}</td>
                            <td class="num">{r.acd}</td>
                            <td class="num">{r.minutes}</td>
                            <td class="num">{r.revenue}</td>
                            <td class="num">{r.cost}</td>
                            <td class="num">{r.margin}</td>
                            <td>{r.currency}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Revenue and cost per hour as an SVG bar chart (one currency), with its axis labels
/// and the figures as the accessible description.
#[component]
fn HourChart(currency: String, hours: Vec<domain::cdr::views::SpendHour>) -> impl IntoView {
    const W: i64 = 720;
    const H: i64 = 180;
    const LEFT: i64 = 64;
    const BOTTOM: i64 = 24;
    let top = hours
        .iter()
        .map(|h| h.revenue_micros.max(h.cost_micros))
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (W - LEFT) / hours.len().max(1) as i64;
    let bar = (slot - 4) / 2;
    let height =
        |micros: i64| (micros.max(0) as i128 * (H - BOTTOM - 8) as i128 / top as i128) as i64;
    let total_revenue: i64 = hours.iter().map(|h| h.revenue_micros).sum();
    let total_cost: i64 = hours.iter().map(|h| h.cost_micros).sum();
    let title = format!(
        "Revenue and cost per hour in {currency}, last 24 hours: revenue {} , cost {}",
        domain::money::format_micros(total_revenue, 4),
        domain::money::format_micros(total_cost, 4)
    );
    let id = format!("chart-{currency}");
    let title_id = id.clone();
    view! {
        <figure class="chart" data-testid=format!("spend-chart-{currency}")>
            <figcaption class="chart__caption">{format!("Per hour ({currency}) — ")}
                <span class="chart__key chart__key--revenue">"revenue"</span>" and "
                <span class="chart__key chart__key--cost">"cost"</span>
            </figcaption>
            <svg role="img" aria-labelledby=id viewBox=format!("0 0 {W} {H}") class="chart__svg">
                <title id=title_id>{title}</title>
                <line x1=LEFT y1=H - BOTTOM x2=W y2=H - BOTTOM class="chart__axis"/>
                <text x=LEFT - 6 y=14 class="chart__label" text-anchor="end">{domain::money::format_micros(top, 2)}</text>
                <text x=LEFT - 6 y=H - BOTTOM class="chart__label" text-anchor="end">"0"</text>
                {hours.iter().enumerate().map(|(i, h)| {
                    let x = LEFT + i as i64 * slot + 2;
                    let (rh, ch) = (height(h.revenue_micros), height(h.cost_micros));
                    let label = (i % 3 == 0).then(|| h.hour.get(11..16).unwrap_or("").to_owned());
                    view! {
                        <rect x=x y=H - BOTTOM - rh width=bar height=rh class="chart__bar chart__bar--revenue"/>
                        <rect x=x + bar y=H - BOTTOM - ch width=bar height=ch class="chart__bar chart__bar--cost"/>
                        {label.map(|l| view! { <text x=x y=H - 6 class="chart__label">{l}</text> })}
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
}

/// The periods of the Balance and totals page: `(value, label)`.
const PERIODS: [(&str, &str); 3] = [
    ("today", "Today"),
    ("7d", "7 days"),
    ("month", "This month"),
];

/// `/admin/totals`: totals per currency, by customer and by destination for today, the
/// last 7 days or this month (`?period=`).
#[component]
pub fn TotalsPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let period = Memo::new(move |_| {
        query
            .get()
            .get("period")
            .filter(|p| PERIODS.iter().any(|(v, _)| v == p))
            .unwrap_or_else(|| "today".to_owned())
    });
    let totals = RwSignal::new(None::<Result<domain::cdr::views::TotalsView, AppError>>);
    let load = move || {
        let p = period.get_untracked();
        totals.set(None);
        leptos::task::spawn_local(async move {
            let fresh = fetch_totals(p).await;
            totals.try_set(Some(fresh));
        });
    };
    Effect::new(move |_| {
        period.track();
        load();
    });
    view! {
        <PageHeader title="Balance and totals" description="Revenue, cost, margin, minutes, ASR and ACD per currency, by customer and by destination.">
            <button type="button" class="button" on:click=move |_| load()>"Refresh"</button>
        </PageHeader>
        <nav class="segmented" aria-label="Period">
            {PERIODS.iter().map(|(value, label)| {
                let value = *value;
                view! {
                    <a class="segmented__item" href=format!("/admin/totals?period={value}")
                        aria-current=move || (period.get() == value).then_some("page")>{*label}</a>
                }
            }).collect_view()}
        </nav>
        {move || match totals.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=Callback::new(move |_| load())/> }.into_any(),
            Some(Ok(t)) => view! {
                <p class="muted" data-testid="totals-period">{format!("From {} to {} UTC", utc(&t.since), utc(&t.as_of))}</p>
                <div class="stats" data-testid="totals-currencies">
                    {t.by_currency.iter().map(|c| view! {
                        <StatTile label=format!("Margin ({})", c.name) value=c.margin.clone()
                            detail=format!("revenue {} · cost {} · {} min · ASR {} %", c.revenue, c.cost, c.minutes, c.asr)/>
                    }).collect_view()}
                </div>
                <h2 class="section-title">"By customer"</h2>
                <SpendTable caption="Totals by customer" rows=t.by_carrier.clone() testid="totals-carriers" empty="No traffic in this period."/>
                <h2 class="section-title">"By destination"</h2>
                <SpendTable caption="Totals by destination" rows=t.by_destination.clone() testid="totals-destinations"
                    first="Destination" empty="No rated traffic in this period."/>
            }.into_any(),
        }}
    }
}

fn import_status_tag(status: &str) -> (&'static str, &'static str) {
    match status {
        "done" => ("tag tag--ok", "Done"),
        "failed" => ("tag tag--crit", "Failed"),
        "running" => ("tag tag--warn", "Importing"),
        _ => ("tag tag--muted", "Queued"),
    }
}

/// `/admin/cdr-files`: upload a CDR file (Master.csv, CSV, JSON lines) and follow its
/// import; the list refreshes every 2 s while an import is queued or running.
#[component]
pub fn CdrFilesPage() -> impl IntoView {
    let (imports, reload) = load_in_browser(fetch_cdr_imports);
    let (choices, _) = load_in_browser(fetch_cdr_file_choices);
    let query = leptos_router::hooks::use_query_map();
    let upload_error = move || query.with(|q| q.get("upload_error"));
    Effect::new(move |_| {
        let busy = imports.with(|i| {
            matches!(i, Some(Ok(rows)) if rows.iter().any(|r| matches!(r.status.as_str(), "queued" | "running")))
        });
        if busy {
            set_timeout(
                move || {
                    leptos::task::spawn_local(async move {
                        let fresh = fetch_cdr_imports().await;
                        imports.try_set(Some(fresh));
                    })
                },
                std::time::Duration::from_secs(2),
            );
        }
    });
    let options = move |pick: fn(&domain::cdr::views::CdrFileChoices) -> &Vec<(i64, String)>| {
        choices.with(|c| match c {
            Some(Ok(c)) => pick(c)
                .iter()
                .map(|(id, label)| view! { <option value=id.to_string()>{label.clone()}</option> })
                .collect_view()
                .into_any(),
            _ => ().into_any(),
        })
    };
    view! {
        <PageHeader title="CDR files" description="Import calls from a file: Asterisk Master.csv, CSV with a header, or JSON lines. Each call is stored, mediated, rated on both legs and posted like the calls switches send. A file with a bad line stores nothing; a call already stored from the same source is not stored twice.">
            <button type="button" class="button" on:click=move |_| reload.run(())>"Refresh"</button>
        </PageHeader>
        <form class="form form--narrow upload" method="post" enctype="multipart/form-data"
            action="/admin/cdr-files/upload" data-testid="cdr-upload-form">
            <div class="field">
                <label class="field__label" for="cdr-file">"CDR file"</label>
                <input class="input" id="cdr-file" name="file" type="file" required
                    accept=".csv,.txt,.json,.ndjson,.jsonl" aria-describedby="cdr-file-help cdr-file-error"/>
                <p class="field__help" id="cdr-file-help">"Up to 256 MB. Times are UTC."</p>
                <p class="field__error" id="cdr-file-error" role="alert">{upload_error}</p>
            </div>
            <div class="field">
                <label class="field__label" for="cdr-format">"Format"</label>
                <select class="input" id="cdr-format" name="format">
                    <option value="">"Guess from the file"</option>
                    <option value="asterisk">"Asterisk Master.csv"</option>
                    <option value="csv">"CSV with a header (call_id, b_number, start, billsec…)"</option>
                    <option value="json">"JSON lines (Kamailio acc_json or DIDTron's shape)"</option>
                </select>
            </div>
            <div class="field">
                <label class="field__label" for="cdr-source">"File the calls under"</label>
                <select class="input" id="cdr-source" name="source_id" aria-describedby="cdr-source-help">
                    {move || options(|c| &c.sources)}
                </select>
                <p class="field__help" id="cdr-source-help">"Choose a switch to store only the calls its API pushes missed: calls are unique per source and call id."</p>
            </div>
            <div class="field">
                <label class="field__label" for="cdr-customer">"Customer interconnect"</label>
                <select class="input" id="cdr-customer" name="customer_interconnect_id" aria-describedby="cdr-customer-help">
                    <option value="">"From each record's source address"</option>
                    {move || options(|c| &c.customer_interconnects)}
                </select>
                <p class="field__help" id="cdr-customer-help">"Master.csv has no source addresses: choose the customer here, or match accountcode below."</p>
            </div>
            <div class="field field--check">
                <input type="checkbox" id="cdr-by-account" name="by_account_code" value="on"/>
                <label for="cdr-by-account">"Master.csv accountcode is the customer carrier's account code"</label>
            </div>
            <div class="field">
                <label class="field__label" for="cdr-supplier">"Supplier interconnect"</label>
                <select class="input" id="cdr-supplier" name="supplier_interconnect_id">
                    <option value="">"From each record's route"</option>
                    {move || options(|c| &c.supplier_interconnects)}
                </select>
            </div>
            <div class="form__actions">
                <button type="submit" class="button button--primary">"Upload and import"</button>
            </div>
        </form>
        <h2 class="section-title">"Imports"</h2>
        {move || match imports.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
            Some(Ok(rows)) if rows.is_empty() => view! { <p class="empty">"No CDR file imported yet."</p> }.into_any(),
            Some(Ok(rows)) => view! { <CdrImportTable rows/> }.into_any(),
        }}
        <PullSources/>
    }
}

/// The CDR pull sources: external softswitch APIs pulled in pages since a high-water
/// mark, with "Pull now" and an "Add pull source" dialog.
#[component]
fn PullSources() -> impl IntoView {
    let (rows, reload) = load_in_browser(fetch_pull_sources);
    let open = RwSignal::new(false);
    let toaster = use_toaster();
    let pull = Action::new(move |id: &i64| {
        let id = *id;
        async move { pull_source_now(id).await }
    });
    Effect::new(move |_| match pull.value().get() {
        Some(Ok(PulledNow {
            ingest: r,
            caught_up,
        })) => {
            toaster.success(format!(
                "Pulled: {} new calls ({} rated), {} already stored{}",
                r.stored,
                r.rated,
                r.duplicates,
                if caught_up {
                    ""
                } else {
                    "; more wait and are fetched within seconds"
                }
            ));
            reload.run(());
        }
        Some(Err(e)) => {
            toaster.error(format!("Not pulled: {e}"));
            reload.run(());
        }
        None => {}
    });
    view! {
        <div class="section-head">
            <h2 class="section-title">"Pull sources"</h2>
            <button type="button" class="button" data-testid="add-pull-source" on:click=move |_| open.set(true)>"Add pull source"</button>
        </div>
        <p class="muted">"Softswitch APIs DIDTron fetches CDRs from, 500 a page, from where the last stored page ended: GET url?limit=500&since=cursor answering {\"records\": [...], \"cursor\": ...}."</p>
        {move || match rows.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
            Some(Ok(rows)) if rows.is_empty() => view! { <p class="empty">"No pull source. Switches that push use API keys instead."</p> }.into_any(),
            Some(Ok(rows)) => view! {
                <div class="table-wrap">
                    <table class="table" data-testid="pull-sources">
                        <caption class="visually-hidden">"CDR pull sources"</caption>
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"Endpoint"</th><th scope="col" class="num">"Every (s)"</th>
                            <th scope="col">"High-water mark"</th><th scope="col" class="num">"Calls pulled"</th>
                            <th scope="col">"Last run (UTC)"</th><th scope="col">"Status"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| {
                                let id = r.id;
                                let status = if !r.last_error.is_empty() {
                                    view! { <span class="tag tag--crit">"Failing"</span><span class="cell-note">{r.last_error.clone()}</span> }.into_any()
                                } else if r.last_success_at.is_some() {
                                    view! { <span class="tag tag--ok">"OK"</span> }.into_any()
                                } else {
                                    view! { <span class="tag tag--muted">"Not run yet"</span> }.into_any()
                                };
                                view! {
                                    <tr>
                                        <td>{r.name.clone()}</td>
                                        <td><code>{r.url.clone()}</code></td>
                                        <td class="num">{r.interval_secs}</td>
                                        <td><code>{if r.cursor.is_empty() { "(start)".to_owned() } else { r.cursor.clone() }}</code></td>
                                        <td class="num">{r.pulled_total}</td>
                                        <td>{r.last_run_at.as_deref().map(utc).unwrap_or_else(|| "never".into())}</td>
                                        <td>{status}</td>
                                        <td><button type="button" class="button button--small" disabled=move || pull.pending().get()
                                            aria-label=format!("Pull {} now", r.name)
                                            on:click=move |_| { pull.dispatch(id); }>"Pull now"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any(),
        }}
        <Dialog title="Add pull source" open>
            <AddPullSource on_done=Callback::new(move |_| { open.set(false); reload.run(()); })/>
        </Dialog>
    }
}

#[component]
fn AddPullSource(on_done: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let header = RwSignal::new(String::new());
    let interval = RwSignal::new("60".to_owned());
    let errors = FormErrors::new();
    let toaster = use_toaster();
    let create = Action::new(move |form: &domain::cdr::views::PullSourceForm| {
        let form = form.clone();
        async move { create_pull_source(form).await }
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(())) => {
            errors.clear();
            toaster.success("Pull source added");
            name.set(String::new());
            url.set(String::new());
            header.set(String::new());
            on_done.run(());
        }
        Some(Err(e)) => errors.show(&e),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let interval_secs: i64 = interval.get_untracked().trim().parse().unwrap_or_default();
        create.dispatch(domain::cdr::views::PullSourceForm {
            name: name.get_untracked(),
            url: url.get_untracked(),
            auth_header: header.get_untracked(),
            interval_secs,
        });
    };
    view! {
        <form class="form" on:submit=submit>
            <TextField label="Name" name="name" prefix="pull" bind=(name.into(), Callback::new(move |v| name.set(v))) errors
                help="The softswitch, e.g. VOS3000 London."/>
            <TextField label="Page endpoint" name="url" prefix="pull" kind="url" bind=(url.into(), Callback::new(move |v| url.set(v))) errors
                help="http(s)://host/path — DIDTron adds ?limit=500&since=<cursor>."/>
            <TextField label="Authorization header" name="auth_header" prefix="pull" bind=(header.into(), Callback::new(move |v| header.set(v))) errors
                help="Sent with every request, e.g. Bearer abc…; kept secret, never shown again. Leave empty for none."/>
            <TextField label="Pull every (seconds)" name="interval_secs" prefix="pull" kind="number" bind=(interval.into(), Callback::new(move |v| interval.set(v))) errors/>
            <FormActions label="Add source" pending=create.pending() errors/>
        </form>
    }
}

#[component]
fn CdrImportTable(rows: Vec<domain::cdr::views::CdrImportView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="cdr-imports">
                <caption class="visually-hidden">"CDR file imports"</caption>
                <thead><tr>
                    <th scope="col">"File"</th><th scope="col">"Status"</th><th scope="col" class="num">"Progress"</th>
                    <th scope="col" class="num">"Stored"</th><th scope="col" class="num">"Rated"</th><th scope="col" class="num">"Unrated"</th>
                    <th scope="col" class="num">"Rejected"</th><th scope="col" class="num">"Already stored"</th>
                    <th scope="col">"Source"</th><th scope="col">"Uploaded (UTC)"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let (class, label) = import_status_tag(&r.status);
                        let report = r.report.clone().unwrap_or_default();
                        let i = report.ingest.clone();
                        let progress = format!("{} / {}", r.rows_done, r.rows_total);
                        let problem = (!r.error.is_empty()).then(|| {
                            let errors = report.errors.clone();
                            view! {
                                <tr class="table__detail">
                                    <td colspan="10">
                                        <p class="alert alert--crit" role="alert">{r.error.clone()}</p>
                                        {(!errors.is_empty()).then(|| view! {
                                            <ul class="line-errors" aria-label=format!("Bad lines of {}", r.file_name)>
                                                {errors.into_iter().map(|e| view! {
                                                    <li>{if e.line == 0 { e.message.clone() } else { format!("Line {}: {}", e.line, e.message) }}</li>
                                                }).collect_view()}
                                            </ul>
                                        })}
                                    </td>
                                </tr>
                            }
                        });
                        view! {
                            <tr data-testid="cdr-import-row">
                                <td>{r.file_name.clone()}<br/><span class="muted">{format!("{} · {} KB", r.format, (r.file_size + 1023) / 1024)}</span></td>
                                <td><span class=class>{label}</span></td>
                                <td class="num">{progress}</td>
                                <td class="num">{i.stored}</td>
                                <td class="num">{i.rated}</td>
                                <td class="num">{i.unrated}</td>
                                <td class="num">{i.rejected}</td>
                                <td class="num">{i.duplicates}</td>
                                <td>{r.source.clone()}</td>
                                <td>{utc(&r.created_at)}<br/><span class="muted">{r.created_by.clone()}</span></td>
                            </tr>
                            {problem}
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Today's date in UTC, `YYYY-MM-DD`, from the browser's clock once hydrated.
fn today_utc() -> String {
    #[cfg(feature = "hydrate")]
    {
        let iso = String::from(js_sys::Date::new_0().to_iso_string());
        iso.get(..10).unwrap_or_default().to_owned()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    }
}

/// `/admin/rerate`: re-rate a period's calls (of one carrier, or all) against the rate
/// plans in force now: first the difference per carrier, then, confirmed, the
/// adjustments posted to the ledger.
#[component]
pub fn ReratePage() -> impl IntoView {
    let today = today_utc();
    let from = RwSignal::new(today.clone());
    let to = RwSignal::new(today);
    let carrier = RwSignal::new(String::new());
    let (carriers, _) = load_in_browser(rate_plan_carriers);
    let errors = FormErrors::new();
    let toaster = use_toaster();
    let confirm = RwSignal::new(false);
    let current = RwSignal::new(None::<domain::cdr::views::RerateRunView>);
    let query = move || domain::cdr::views::RerateQuery {
        from: from.get_untracked(),
        to: to.get_untracked(),
        carrier_id: carrier.get_untracked().parse().ok(),
    };
    let run = Action::new(move |apply: &bool| {
        let (q, apply) = (query(), *apply);
        async move { start_rerate(q, apply).await }
    });
    Effect::new(move |_| match run.value().get() {
        Some(Ok(r)) => {
            errors.clear();
            current.set(Some(r));
        }
        Some(Err(e)) => {
            errors.show(&e);
            current.set(None);
        }
        None => {}
    });
    // Follow the run while it waits or works; say so when an application is done.
    Effect::new(move |_| {
        let Some(r) = current.get() else { return };
        if !r.is_busy() {
            return;
        }
        let id = r.id;
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    let Ok(fresh) = fetch_rerate_run(id).await else {
                        return;
                    };
                    if current.get_untracked().is_none_or(|c| c.id != id) {
                        return;
                    }
                    if fresh.status == "done" && fresh.apply {
                        if let Some(d) = &fresh.result {
                            toaster.success(format!(
                                "{} calls re-rated; adjustments posted to {} ledger lines",
                                d.changed,
                                d.lines.len()
                            ));
                        }
                    }
                    current.try_set(Some(fresh));
                })
            },
            std::time::Duration::from_millis(700),
        );
    });
    let busy =
        move || run.pending().get() || current.with(|c| c.as_ref().is_some_and(|c| c.is_busy()));
    // A changed choice invalidates the preview.
    Effect::new(move |_| {
        from.track();
        to.track();
        carrier.track();
        current.set(None);
    });
    let field_error =
        move |name: &'static str| move || errors.fields.with(|f| f.get(name).map(str::to_owned));
    view! {
        <PageHeader title="Re-rating" description="Price a period's rated calls again with the rate plans in force now (a supplier's corrected deck, a customer plan fixed after the fact). See the difference per carrier first; applying posts it to each carrier's ledger as an adjustment and keeps every call's earlier price."/>
        <form class="filters" on:submit=move |ev| { ev.prevent_default(); run.dispatch(false); }>
            <div class="field">
                <label class="field__label" for="rerate-from">"First day (UTC)"</label>
                <input class="input" id="rerate-from" name="from" type="date" prop:value=from aria-describedby="rerate-from-error"
                    on:change=move |ev| from.set(event_target_value(&ev))/>
                <p class="field__error" id="rerate-from-error" role="alert">{field_error("from")}</p>
            </div>
            <div class="field">
                <label class="field__label" for="rerate-to">"Last day (UTC)"</label>
                <input class="input" id="rerate-to" name="to" type="date" prop:value=to aria-describedby="rerate-to-error"
                    on:change=move |ev| to.set(event_target_value(&ev))/>
                <p class="field__error" id="rerate-to-error" role="alert">{field_error("to")}</p>
            </div>
            <div class="field">
                <label class="field__label" for="rerate-carrier">"Carrier"</label>
                <select class="input" id="rerate-carrier" on:change=move |ev| carrier.set(event_target_value(&ev))>
                    <option value="">"All carriers"</option>
                    {move || carriers.get().and_then(Result::ok).unwrap_or_default().into_iter()
                        .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                </select>
            </div>
            <div class="form__actions">
                {move || errors.general.get().map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
                <button type="submit" class="button button--primary" disabled=busy>
                    {move || if busy() { "Working…" } else { "Show the difference" }}
                </button>
            </div>
        </form>
        {move || current.get().filter(|r| r.is_busy()).map(|r| view! {
            <p class="alert alert--info" role="status" data-testid="rerate-progress">
                {format!("{} in the background: {} of {} calls priced…",
                    if r.apply { "Applying" } else { "Pricing" }, r.examined, r.total)}
            </p>
        })}
        {move || current.get().filter(|r| r.status == "failed").map(|r| view! {
            <p class="alert alert--crit" role="alert" data-testid="rerate-failed">{format!("The re-rating failed: {}", r.error)}</p>
        })}
        {move || current.get().and_then(|r| r.result).map(|d| {
            let can_apply = !d.applied && d.changed > 0;
            let summary = if d.applied {
                format!("Applied: {} of {} rated calls re-priced; the adjustments below are posted.", d.changed, d.examined)
            } else {
                format!("{} rated calls in the period; {} would be priced differently.", d.examined, d.changed)
            };
            view! {
                <section aria-labelledby="rerate-result" data-testid="rerate-result">
                    <h2 class="section-title" id="rerate-result">{if d.applied { "Adjustments posted" } else { "Difference" }}</h2>
                    <p>{summary}</p>
                    {(!d.lines.is_empty()).then(|| view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="rerate-lines">
                                <caption class="visually-hidden">"Difference per carrier"</caption>
                                <thead><tr>
                                    <th scope="col">"Carrier"</th><th scope="col">"Leg"</th><th scope="col" class="num">"Calls"</th>
                                    <th scope="col" class="num">"Before"</th><th scope="col" class="num">"After"</th>
                                    <th scope="col" class="num">"Ledger adjustment"</th><th scope="col">"Currency"</th>
                                </tr></thead>
                                <tbody>
                                    {d.lines.iter().map(|l| view! {
                                        <tr>
                                            <td>{l.carrier.clone()}</td>
                                            <td>{if l.leg == "customer" { "Customer (revenue)" } else { "Supplier (cost)" }}</td>
                                            <td class="num">{l.calls}</td>
                                            <td class="num">{l.before.clone()}</td>
                                            <td class="num">{l.after.clone()}</td>
                                            <td class="num">{l.ledger_change.clone()}</td>
                                            <td>{l.currency.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })}
                    {(!d.skipped.is_empty()).then(|| view! {
                        <h3 class="panel__title">"Not re-rated"</h3>
                        <ul>
                            {d.skipped.iter().map(|(why, n)| view! { <li>{format!("{n} calls: {why}")}</li> }).collect_view()}
                        </ul>
                    })}
                    {can_apply.then(|| view! {
                        <div class="form__actions">
                            <button type="button" class="button button--primary" data-testid="rerate-apply"
                                on:click=move |_| confirm.set(true)>"Apply adjustments"</button>
                        </div>
                    })}
                </section>
            }
        })}
        <Dialog title="Apply the re-rating" open=confirm>
            <p>"Each carrier's difference is posted to its ledger as a re-rating adjustment, and the calls show their new price. The original postings stay."</p>
            <div class="form__actions">
                <button type="button" class="button button--primary"
                    on:click=move |_| { confirm.set(false); run.dispatch(true); }>"Post adjustments"</button>
                <button type="button" class="button" on:click=move |_| confirm.set(false)>"Cancel"</button>
            </div>
        </Dialog>
    }
}
