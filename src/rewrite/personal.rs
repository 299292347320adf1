//! Slot handlers: each fills its slot with its block, rendered then.

use crate::config::personal::CompiledSlot;
use crate::plan::personal::Personal;
use lol_html::html_content::{ContentType, Element};
use lol_html::{ElementContentHandlers, Settings};
use std::borrow::Cow;
use std::rc::Rc;

/// Adds the slot handlers to `settings`: each renders its block into its
/// slot and notes that it was shown.
pub fn attach<'h, 's>(
    p: &Rc<Personal>,
    slots: &'s [CompiledSlot],
    mut settings: Settings<'h, 's>,
) -> Settings<'h, 's> {
    for (i, f) in p.fills.iter().enumerate() {
        let Some(slot) = slots.get(f.slot) else {
            continue;
        };
        let p = Rc::clone(p);
        settings = settings.append_element_content_handler((
            Cow::Borrowed(&slot.selector),
            ElementContentHandlers::default().element(move |el: &mut Element| {
                p.touched.set(true);
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
