//! Which promo applies now: conditions on time, place and holidays.

use crate::config::personal::{date_range, month_day};
use crate::request::Context;
use crate::schema::{Personalization, Promo, When};

/// The local date `(month, day)` of the context.
pub(crate) fn local_date(ctx: &Context) -> Option<(u8, u8)> {
    month_day(ctx.time.local.get(5..10)?)
}

fn in_range(d: (u8, u8), (from, to): ((u8, u8), (u8, u8))) -> bool {
    if from <= to {
        from <= d && d <= to
    } else {
        d >= from || d <= to
    }
}

fn matches(w: &When, ctx: &Context, holiday: Option<&str>) -> bool {
    let t = &ctx.time;
    let has = |v: &[String], x: &str| v.is_empty() || v.iter().any(|y| y == x);
    let hemisphere = if ctx.geo.southern() { "south" } else { "north" };
    has(&w.dayparts, t.daypart.as_str())
        && has(&w.day_kinds, t.day_kind.as_str())
        && has(&w.weekdays, t.weekday)
        && has(&w.seasons, t.season.as_str())
        && has(&w.countries, &ctx.geo.country)
        && has(&w.hemispheres, hemisphere)
        && (w.dates.is_empty()
            || local_date(ctx).is_some_and(|d| {
                w.dates
                    .iter()
                    .filter_map(|r| date_range(r))
                    .any(|r| in_range(d, r))
            }))
        && (!w.holiday || holiday.is_some())
}

/// `12-24`.
fn month_day_key(m: u8, d: u8) -> String {
    let mut s = String::with_capacity(5);
    crate::base::text::push_padded(&mut s, u64::from(m), 2);
    s.push('-');
    crate::base::text::push_padded(&mut s, u64::from(d), 2);
    s
}

/// The first promo whose conditions hold now (its index and itself), with
/// today's holiday name.
pub fn promo_for<'p>(
    p: &'p Personalization,
    ctx: &Context,
) -> Option<(usize, &'p Promo, Option<&'p str>)> {
    let holiday = local_date(ctx).and_then(|(m, d)| {
        p.holidays
            .get(&ctx.geo.country)?
            .get(&month_day_key(m, d))
            .map(String::as_str)
    });
    p.promos
        .iter()
        .enumerate()
        .find(|(_, pr)| matches(&pr.when, ctx, holiday))
        .map(|(i, pr)| (i, pr, holiday))
}
