//! The email form's own feature: on a new email, a chooser of the email
//! templates written for the regarding record's entity (or for any record),
//! which fills the subject and the body in for that record, and the user's
//! default signature below an empty line when no template is applied.
//!
//! This is the one place the interface names the email module's entities
//! (`email`, `template`, `emailsignature`): choosing a template and adding a
//! signature are what composing an email means, not something metadata can
//! describe, so the generic form asks this module for its additions and
//! gets nothing back for any other entity.

use std::collections::HashMap;

use minijinja::context;
use relata_engine::{EngineError, Session};
use relata_metadata::{Entity, EntityRef, Value};
use relata_query::options::{parse_query_options, string_literal};
use relata_security::Scope;
use serde::Serialize;
use uuid::Uuid;

use super::i18n::{text, Lang, Text};
use super::pages::PageError;

/// The entity whose new form has the chooser.
const EMAIL: &str = "email";
/// The templates offered.
const TEMPLATE: &str = "template";
/// The user's signatures.
const SIGNATURE: &str = "emailsignature";
/// The most templates the chooser lists.
const MAX_TEMPLATES: usize = 200;
/// The query parameter naming the template to apply.
pub(super) const TEMPLATE_PARAM: &str = "template";

pub(super) const TEMPLATES: &[(&str, &str)] = &[("email_compose.html", include_str!("templates/email_compose.html"))];

pub(super) const TEXT: &[Text] = &[
    ("mail_template", "Email template", "Шаблон письма"),
    ("mail_no_template", "No template", "Без шаблона"),
    ("mail_apply", "Apply template", "Применить шаблон"),
    ("mail_template_failed", "The template could not be applied: {reason}", "Не удалось применить шаблон: {reason}"),
    ("mail_bad_template", "No such template.", "Такого шаблона нет."),
];

/// What the email form adds to the generic new-record form.
#[derive(Default)]
pub(super) struct Compose {
    /// Values the form starts with, as the form's prefill parameters
    /// (`subject`, `description`, `templateid=template:<id>`).
    pub prefill: HashMap<String, String>,
    /// The template chooser, rendered, shown above the form.
    pub panel: Option<String>,
    /// Why the chosen template could not be applied.
    pub problem: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    id: Uuid,
    title: String,
    selected: bool,
}

/// The email form's additions for `entity`'s new form opened with `q`
/// (nothing for any other entity). `fresh` is a form being opened, not one
/// shown again after a refused save: only a fresh form is prefilled.
pub(super) fn compose(
    s: &mut Session<'_, '_, '_>,
    entity: &Entity,
    q: &HashMap<String, String>,
    lang: Lang,
    fresh: bool,
) -> Result<Compose, PageError> {
    let mut out = Compose::default();
    if entity.name() != EMAIL {
        return Ok(out);
    }
    let regarding = q
        .get("regardingobjectid")
        .and_then(|raw| entity.attribute("regardingobjectid").and_then(|a| super::forms::parse_ref(a, raw)));
    let chosen = q.get(TEMPLATE_PARAM).map(|v| v.trim()).filter(|v| !v.is_empty());
    let choices = templates(s, regarding.as_ref(), chosen, lang)?;
    if fresh {
        match chosen {
            Some(raw) => match Uuid::parse_str(raw) {
                Ok(id) => match s.fill_template(id, regarding.as_ref()) {
                    Ok(filled) => {
                        out.prefill.insert("subject".into(), filled.subject);
                        out.prefill.insert("description".into(), filled.body);
                        out.prefill.insert("templateid".into(), format!("{TEMPLATE}:{id}"));
                    }
                    // A template the engine refuses (not readable, for another
                    // entity, not valid) is explained on the form.
                    Err(
                        e @ (EngineError::Invalid(_)
                        | EngineError::NotFound(_)
                        | EngineError::Forbidden(_)
                        | EngineError::Refused { .. }),
                    ) => {
                        let reason = super::localized(e, lang).message_in(lang.code());
                        out.problem = Some(text(lang, "mail_template_failed").replace("{reason}", &reason));
                    }
                    Err(e) => return Err(e.into()),
                },
                Err(_) => {
                    let reason = text(lang, "mail_bad_template");
                    out.problem = Some(text(lang, "mail_template_failed").replace("{reason}", reason));
                }
            },
            None if !q.contains_key("description") => {
                if let Some(signature) = default_signature(s, lang)? {
                    out.prefill.insert("description".into(), format!("\n{signature}"));
                }
            }
            None => {}
        }
    }
    if !choices.is_empty() || out.problem.is_some() {
        // The chooser reloads this form with the template chosen, keeping
        // what the form was opened with (regarding, recipients, way back).
        let mut keep: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), TEMPLATE_PARAM | "lang"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        keep.sort();
        let ctx = context! {
            t => super::strings(lang),
            set => &entity.def.entity_set,
            keep => keep,
            choices => minijinja::Value::from(minijinja::value::Serde(&choices)),
        };
        // A rendering error is a defect: logged, and the form shown without the chooser.
        match super::TEMPLATES.get_template("email_compose.html").and_then(|t| t.render(ctx)) {
            Ok(html) => out.panel = Some(html),
            Err(e) => tracing::error!(error = %e, "the template chooser could not be rendered"),
        }
    }
    Ok(out)
}

/// The templates the user may read and may use for `regarding`: those
/// written for its entity and the global ones, the organization's and the
/// user's personal ones, in the interface language first.
fn templates(
    s: &mut Session<'_, '_, '_>,
    regarding: Option<&EntityRef>,
    chosen: Option<&str>,
    lang: Lang,
) -> Result<Vec<Choice>, PageError> {
    if !readable(s, TEMPLATE) {
        return Ok(Vec::new());
    }
    let kind = match regarding {
        Some(r) => format!(" or templatetypecode eq {}", string_literal(&r.entity)),
        None => String::new(),
    };
    let q = format!(
        "$select=title,languagecode&$filter=(ispersonal eq false or Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')) and (templatetypecode eq null or templatetypecode eq ''{kind})&$orderby=title&$top={MAX_TEMPLATES}"
    );
    let opts = parse_query_options(&q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let mut rows: Vec<(bool, String, Uuid)> = s
        .query(TEMPLATE, &opts, Some(MAX_TEMPLATES), None)?
        .records
        .into_iter()
        .map(|r| {
            let other_language = r.get("languagecode").and_then(Value::as_i64) != Some(lang.lcid() as i64);
            (other_language, r.get("title").and_then(Value::as_str).unwrap_or("").to_string(), r.id)
        })
        .collect();
    rows.sort();
    let chosen = chosen.and_then(|c| Uuid::parse_str(c).ok());
    Ok(rows.into_iter().map(|(_, title, id)| Choice { id, title, selected: Some(id) == chosen }).collect())
}

/// The user's default signature's HTML: in the interface language if they
/// keep one per language.
fn default_signature(s: &mut Session<'_, '_, '_>, lang: Lang) -> Result<Option<String>, PageError> {
    if !readable(s, SIGNATURE) {
        return Ok(None);
    }
    let q = "$select=presentationxml,languagecode&$filter=Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid') and isdefault eq true&$orderby=modifiedon desc&$top=10";
    let opts = parse_query_options(q).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let rows = s.query(SIGNATURE, &opts, Some(10), None)?.records;
    let html = |r: &relata_query::Record| r.get("presentationxml").and_then(Value::as_str).map(str::to_string);
    let own_language = rows.iter().find(|r| r.get("languagecode").and_then(Value::as_i64) == Some(lang.lcid() as i64));
    Ok(own_language.or(rows.first()).and_then(html).filter(|h| !h.trim().is_empty()))
}

fn readable(s: &Session<'_, '_, '_>, entity: &str) -> bool {
    s.schema.entity(entity).is_some_and(|e| s.principal.read_scope(e) != Scope::Nothing)
}
