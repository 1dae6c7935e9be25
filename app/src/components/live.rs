//! Live pages: refresh every [`LIVE_REFRESH_SECS`] while the browser tab is visible,
//! pause while it is hidden (`document.visibilityState`), and refresh at once when it is
//! shown again. One implementation for every live page (24 hour spend, System Status,
//! the sidebar's status dot).
//!
//! ```ignore
//! let mode = use_live_refresh(Signal::derive(move || live.get()), Callback::new(move |_| reload()));
//! view! { <span>{move || mode.get().label()}</span> }
//! ```

use leptos::prelude::*;

/// Seconds between refreshes of the live pages.
pub const LIVE_REFRESH_SECS: u64 = 30;

/// True when the browser tab is hidden.
pub fn page_hidden() -> bool {
    #[cfg(feature = "hydrate")]
    {
        document().visibility_state() == web_sys::VisibilityState::Hidden
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// What a live page is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveMode {
    /// Refreshing every [`LIVE_REFRESH_SECS`].
    On,
    /// The tab is hidden: no refresh until it is shown.
    Paused,
    /// Turned off by the person.
    Off,
}

impl LiveMode {
    /// For people, e.g. beside the live switch.
    pub fn label(self) -> &'static str {
        match self {
            LiveMode::On => "Live: refreshes every 30 seconds",
            LiveMode::Paused => "Paused while this tab is hidden",
            LiveMode::Off => "Live refresh is off",
        }
    }

    /// Stable spelling for `data-live` attributes (tests, styles).
    pub fn as_str(self) -> &'static str {
        match self {
            LiveMode::On => "on",
            LiveMode::Paused => "paused",
            LiveMode::Off => "off",
        }
    }
}

/// Runs `refresh` every [`LIVE_REFRESH_SECS`] while `enabled` is true and the tab is
/// visible, and at once when a hidden tab is shown again (checked every second). Only in
/// the browser; the server render reports [`LiveMode::On`] (or `Off`).
pub fn use_live_refresh(enabled: Signal<bool>, refresh: Callback<()>) -> ReadSignal<LiveMode> {
    let (mode, set_mode) = signal(LiveMode::On);
    #[cfg(feature = "hydrate")]
    {
        let waited = StoredValue::new(0u64);
        let was_hidden = StoredValue::new(false);
        Effect::new(move |_| {
            let handle = set_interval_with_handle(
                move || {
                    if !enabled.get_untracked() {
                        set_mode.set(LiveMode::Off);
                        waited.set_value(0);
                        return;
                    }
                    if page_hidden() {
                        set_mode.set(LiveMode::Paused);
                        was_hidden.set_value(true);
                        return;
                    }
                    set_mode.set(LiveMode::On);
                    let seconds = waited.get_value() + 1;
                    if was_hidden.get_value() || seconds >= LIVE_REFRESH_SECS {
                        was_hidden.set_value(false);
                        waited.set_value(0);
                        refresh.run(());
                    } else {
                        waited.set_value(seconds);
                    }
                },
                std::time::Duration::from_secs(1),
            );
            if let Ok(handle) = handle {
                on_cleanup(move || handle.clear());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (refresh, set_mode);
        if !enabled.get_untracked() {
            return signal(LiveMode::Off).0;
        }
    }
    mode
}
