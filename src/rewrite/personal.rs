//! Slot handlers: each fills its slot with its block, rendered then.

use crate::config::personal::CompiledSlot;
use crate::plan::Plan;
use lol_html::html_content::{ContentType, Element};
use lol_html::{ElementContentHandlers, Settings};
use std::borrow::Cow;
use std::rc::Rc;

/// Adds the slot handlers to `settings`: each renders its block into its
/// slot and notes that it was shown. Every slot notes that it was seen;
/// without [`Plan::watch_slots`] only the slots a block fills are watched.
pub fn attach<'h, 's>(
    plan: &Rc<Plan>,
    slots: &'s [CompiledSlot],
    mut settings: Settings<'h, 's>,
) -> Settings<'h, 's> {
    let p = plan.personal.as_ref();
    for (slot_i, slot) in slots.iter().enumerate() {
        let fill = p.and_then(|p| p.fills.iter().position(|f| f.slot == slot_i));
        if fill.is_none() && !plan.watch_slots.get() {
            continue;
        }
        let plan = Rc::clone(plan);
        settings = settings.append_element_content_handler((
            Cow::Borrowed(&slot.selector),
            ElementContentHandlers::default().element(move |el: &mut Element| {
                plan.slot_seen.set(true);
                let Some((p, i)) = plan.personal.as_ref().zip(fill) else {
                    return Ok(());
                };
                if let (Some(html), Some(shown)) = (p.html(i), p.shown.get(i)) {
                    el.set_inner_content(html, ContentType::Html);
                    shown.set(true);
                }
                Ok(())
            }),
        ));
    }
    settings
}
