//! The data table every list uses: sticky header, sortable columns (`aria-sort`),
//! right-aligned number columns, rows that open their detail, loading skeleton, empty
//! state that says what to do, error state with the correlation id and a retry, keyset
//! "Load more", and virtualised rendering once more than [`VIRTUALISE_ABOVE`] rows are
//! loaded (only the rows in view, plus a margin, are in the DOM).
//!
//! ```ignore
//! let columns = vec![
//!     Column::new("name", "Name", |r: &CarrierRow| view! { <a href=format!("/admin/carriers/{}", r.id)>{r.name.clone()}</a> }.into_any()).sortable(),
//!     Column::new("currency", "Currency", |r: &CarrierRow| r.currency.clone().into_any()),
//! ];
//! view! {
//!     <DataTable caption="Carriers" columns rows=rows.into() state=state.into() sort
//!         row_href=|r: &CarrierRow| format!("/admin/carriers/{}", r.id)
//!         empty="No carriers match. Clear the filters or create one."
//!         has_more=has_more.into() on_more=Callback::new(move |_| load_more())/>
//! }
//! ```

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::{ErrorPanel, Loading};
use crate::error::AppError;

/// More loaded rows than this are virtualised.
pub const VIRTUALISE_ABOVE: usize = 200;
/// Height of one row in px when virtualised (CSS `.table--virtual td` matches it).
pub const ROW_HEIGHT: f64 = 37.0;
/// Height of the scrolling area in px when virtualised.
const VIEWPORT: f64 = 600.0;

/// One column: its sort key, header, alignment and how a row's cell renders.
pub struct Column<T> {
    pub key: &'static str,
    pub label: &'static str,
    pub sortable: bool,
    pub numeric: bool,
    pub cell: fn(&T) -> AnyView,
}

impl<T> Column<T> {
    /// A plain, left-aligned, unsortable column.
    pub fn new(key: &'static str, label: &'static str, cell: fn(&T) -> AnyView) -> Self {
        Column {
            key,
            label,
            sortable: false,
            numeric: false,
            cell,
        }
    }

    /// Makes the column sortable by its `key`.
    pub fn sortable(mut self) -> Self {
        self.sortable = true;
        self
    }

    /// Right-aligns the column with tabular figures.
    pub fn numeric(mut self) -> Self {
        self.numeric = true;
        self
    }
}

/// The sort of a table: column key and direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sort {
    pub key: String,
    pub desc: bool,
}

/// Where a table's data stands.
#[derive(Clone, Debug, PartialEq)]
pub enum TableState {
    Loading,
    Ready,
    Failed(AppError),
}

/// The table. `rows` is everything loaded so far; `on_more` loads the next page.
#[component]
pub fn DataTable<T>(
    /// Accessible caption (visually hidden).
    #[prop(into)]
    caption: String,
    columns: Vec<Column<T>>,
    #[prop(into)] rows: Signal<Vec<T>>,
    #[prop(into)] state: Signal<TableState>,
    /// Current sort; clicking a sortable header sets it.
    #[prop(optional)]
    sort: Option<RwSignal<Sort>>,
    /// Where a row click goes; an empty string: the row opens nothing.
    row_href: fn(&T) -> String,
    /// What to say (and suggest) when there are no rows.
    #[prop(into)]
    empty: String,
    /// True when another page exists.
    #[prop(optional, into)]
    has_more: Signal<bool>,
    /// Loads the next page.
    #[prop(optional)]
    on_more: Option<Callback<()>>,
    /// Runs on "Retry" in the error state.
    #[prop(optional)]
    on_retry: Option<Callback<()>>,
    /// `data-testid` of the `<table>`.
    #[prop(default = "data-table")]
    testid: &'static str,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let columns = StoredValue::new(columns);
    let navigate = use_navigate();
    let scroll_top = RwSignal::new(0.0f64);
    let virtual_mode = move || rows.with(|r| r.len() > VIRTUALISE_ABOVE);
    let header = move || {
        columns.with_value(|cols| {
            cols.iter()
                .map(|c| {
                    let key = c.key;
                    let label = c.label;
                    let numeric = c.numeric;
                    let aria_sort = move || {
                        sort.map(|s| s.get()).and_then(|s| {
                            (s.key == key).then_some(if s.desc { "descending" } else { "ascending" })
                        })
                    };
                    match (c.sortable, sort) {
                        (true, Some(sort)) => view! {
                            <th scope="col" class:num=numeric aria-sort=aria_sort>
                                <button type="button" class="table__sort" on:click=move |_| sort.update(|s| {
                                    if s.key == key { s.desc = !s.desc } else { *s = Sort { key: key.into(), desc: false } }
                                })>
                                    {label}
                                    <span aria-hidden="true" class="table__sort-mark">
                                        {move || match aria_sort() { Some("ascending") => "▲", Some(_) => "▼", None => "↕" }}
                                    </span>
                                </button>
                            </th>
                        }
                        .into_any(),
                        _ => view! { <th scope="col" class:num=numeric>{label}</th> }.into_any(),
                    }
                })
                .collect_view()
        })
    };
    let body = move || {
        let all = rows.get();
        let ncols = columns.with_value(|c| c.len());
        let (start, end) = if all.len() > VIRTUALISE_ABOVE {
            let first = (scroll_top.get() / ROW_HEIGHT).floor() as usize;
            let start = first.saturating_sub(10);
            let end = (first + (VIEWPORT / ROW_HEIGHT).ceil() as usize + 10).min(all.len());
            (start, end)
        } else {
            (0, all.len())
        };
        let top = start as f64 * ROW_HEIGHT;
        let bottom = (all.len() - end) as f64 * ROW_HEIGHT;
        let navigate = navigate.clone();
        let rendered = all[start..end]
            .iter()
            .map(|row| {
                let href = row_href(row);
                let navigate = navigate.clone();
                let cells = columns.with_value(|cols| {
                    cols.iter()
                        .map(|c| view! { <td class:num=c.numeric>{(c.cell)(row)}</td> })
                        .collect_view()
                });
                let linked = !href.is_empty();
                view! {
                    <tr class:table__row--link=linked on:click=move |ev| {
                        // Links and buttons inside the row do their own thing.
                        let inner = event_target::<web_sys::Element>(&ev).closest("a, button").ok().flatten();
                        if linked && inner.is_none() { navigate(&href, Default::default()) }
                    }>{cells}</tr>
                }
            })
            .collect_view();
        view! {
            {(top > 0.0).then(|| view! { <tr aria-hidden="true"><td colspan=ncols style=format!("height:{top}px;padding:0")></td></tr> })}
            {rendered}
            {(bottom > 0.0).then(|| view! { <tr aria-hidden="true"><td colspan=ncols style=format!("height:{bottom}px;padding:0")></td></tr> })}
        }
    };
    view! {
        // Focusable, so a table wider than the screen scrolls from the keyboard too.
        <div class="table-wrap" class:table-wrap--virtual=virtual_mode tabindex="0"
            on:scroll=move |ev| scroll_top.set(event_target::<web_sys::Element>(&ev).scroll_top() as f64)>
            <table class="table" class:table--virtual=virtual_mode data-testid=testid
                aria-rowcount=move || rows.with(|r| r.len() + 1)>
                <caption class="visually-hidden">{caption}</caption>
                <thead><tr>{header}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
        {move || match state.get() {
            TableState::Loading => view! { <Loading/> }.into_any(),
            TableState::Failed(error) => view! { <ErrorPanel error on_retry=on_retry.unwrap_or_else(|| Callback::new(|_| ()))/> }.into_any(),
            TableState::Ready if rows.with(|r| r.is_empty()) => view! { <p class="empty">{empty.clone()}</p> }.into_any(),
            TableState::Ready => view! {
                <div class="table__footer">
                    <span class="table__count num">{move || format!("{} shown", rows.with(|r| r.len()))}</span>
                    <Show when=move || has_more.get()>
                        <button type="button" class="button" data-testid="load-more"
                            on:click=move |_| if let Some(more) = on_more { more.run(()) }>"Load more"</button>
                    </Show>
                </div>
            }.into_any(),
        }}
    }
}

/// Keyset pages of a list (any [`domain::listing::Keyset`] query), loaded as its query changes: the rows so far, the table
/// state, whether more exist, and "load more" / "retry". A response to an older query
/// never overwrites a newer one.
///
/// ```ignore
/// let query = Memo::new(move |_| ListQuery { q: search.get(), ..Default::default() });
/// let pages = use_pages(query, carriers_page);
/// view! { <DataTable rows=pages.rows state=pages.state has_more=pages.has_more() on_more=pages.more .../> }
/// ```
pub struct Pages<T: Send + Sync + 'static> {
    pub rows: RwSignal<Vec<T>>,
    pub state: RwSignal<TableState>,
    pub next: RwSignal<Option<String>>,
    /// Loads the page after the last one.
    pub more: Callback<()>,
    /// Reloads from the first page.
    pub reload: Callback<()>,
}

impl<T: Send + Sync + 'static> Pages<T> {
    /// True while another page exists.
    pub fn has_more(&self) -> Signal<bool> {
        let next = self.next;
        Signal::derive(move || next.with(Option::is_some))
    }
}

/// See [`Pages`].
pub fn use_pages<Q, T, Fut>(
    query: Memo<Q>,
    fetch: impl Fn(Q) -> Fut + Copy + Send + Sync + 'static,
) -> Pages<T>
where
    Q: domain::listing::Keyset + Clone + PartialEq + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<domain::listing::Page<T>, AppError>> + 'static,
{
    let rows = RwSignal::new(Vec::<T>::new());
    let state = RwSignal::new(TableState::Loading);
    let next = RwSignal::new(None::<String>);
    let generation = RwSignal::new(0u64);
    let load = move |append: bool| {
        let mut q = query.get_untracked();
        if append {
            q.set_after(next.get_untracked().unwrap_or_default());
        }
        let this = generation.get_untracked() + 1;
        generation.set(this);
        state.set(TableState::Loading);
        leptos::task::spawn_local(async move {
            let result = fetch(q).await;
            if generation.get_untracked() != this {
                return;
            }
            match result {
                Ok(page) => {
                    if append {
                        rows.update(|r| r.extend(page.rows));
                    } else {
                        rows.set(page.rows);
                    }
                    next.set(page.next);
                    state.set(TableState::Ready);
                }
                Err(error) => state.set(TableState::Failed(error)),
            }
        });
    };
    Effect::new(move |_| {
        query.track();
        load(false);
    });
    Pages {
        rows,
        state,
        next,
        more: Callback::new(move |_| load(true)),
        reload: Callback::new(move |_| load(false)),
    }
}
