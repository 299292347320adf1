//! What is known about the visitor for personalization before any KV read:
//! consent, visitor id, profile cookie, experiment arm, the viewed product.

use crate::config::personal::{product_of, Compiled};
use crate::decide::consent::{self, Cookies};
use crate::decide::experiment::{self, Assignment, VISITOR_COOKIE};
use crate::decide::profile::{self, Profile};
use crate::request::Context;
use crate::schema::Personalization;
use std::rc::Rc;

/// What is known about the visitor before any KV read.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub cookies: Cookies,
    pub id: Option<String>,
    /// The id was made for this request (a cookie must be set).
    pub new_id: bool,
    pub profile: Option<Profile>,
    pub profile_status: &'static str,
    /// Shared: made once per isolate for the config and id.
    pub assignment: Rc<Assignment>,
    pub product: Option<String>,
}

impl Visitor {
    /// `fresh_id` makes a new visitor id (getrandom in the glue); called
    /// only when cookies are allowed and the visitor has no valid id.
    /// `path` is the page's path on the origin (without a locale prefix);
    /// `config` the config's digest (the assignment is remembered by it).
    #[allow(clippy::too_many_arguments)]
    pub fn read(
        p: &Personalization,
        c: &Compiled,
        config: &[u8; 16],
        ctx: &Context,
        path: &str,
        gpc: Option<&str>,
        now_ms: i64,
        fresh_id: impl FnOnce() -> Option<String>,
    ) -> Visitor {
        let cookies = consent::cookies(&p.consent, ctx, gpc, false);
        let product = product_of(c, path).map(str::to_string);
        let (mut id, mut new_id) = (None, false);
        let (mut prof, mut profile_status) = (None, "not_allowed");
        if cookies.allowed() {
            id = ctx
                .cookie(VISITOR_COOKIE)
                .filter(|v| experiment::valid_visitor_id(v))
                .map(str::to_string);
            if id.is_none() {
                id = fresh_id().filter(|v| experiment::valid_visitor_id(v));
                new_id = id.is_some();
            }
            profile_status = if !p.profile.enabled {
                "disabled"
            } else {
                match ctx.cookie(profile::COOKIE) {
                    None => "none",
                    Some(v) => match Profile::parse(v, now_ms) {
                        Some(mut pr) => {
                            pr.decay(now_ms, p.profile.half_life_days);
                            prof = Some(pr);
                            "read"
                        }
                        None => "ignored",
                    },
                }
            };
        }
        let assignment = experiment::assigned(p, config, id.as_deref());
        Visitor {
            cookies,
            id,
            new_id,
            profile: prof,
            profile_status,
            assignment,
            product,
        }
    }

    /// Whether the country pack is needed: blocks to render, or a product
    /// view to record (its category comes from the pack).
    pub fn wants_pack(&self, p: &Personalization) -> bool {
        self.assignment.personalized
            || (self.product.is_some() && self.cookies.allowed() && p.profile.enabled)
    }
}
