//! Email templates: a subject and an HTML body with placeholders read
//! from a record and its related records — `{{ record.name }}`,
//! `{{ record.parentcustomerid.name }}`, `{{ user.fullname }}`,
//! `{{ organization.name }}` — in the template's language.
//!
//! Values are put in the body HTML-escaped; a missing value prints as
//! nothing. A template is checked when it is saved, and rendering has a
//! work budget, so no template can stall the server.

use std::collections::HashSet;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use relata_metadata::{AttrKind, EntityRef, Value};
use relata_security::{Depth, Right};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::modules::{ActionRequest, ActionResponse, StepContext};
use crate::session::{missing_privilege, Fields, Session};

/// Work budget of one render (minijinja's fuel).
const FUEL: u64 = 5_000_000;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    // The body is HTML; the subject is text.
    env.set_auto_escape_callback(|name| if name == "body" { AutoEscape::Html } else { AutoEscape::None });
    env.set_fuel(Some(FUEL));
    env
}

fn error_of(what: &str, e: &minijinja::Error) -> EngineError {
    let detail = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
    match e.line() {
        Some(line) => invalid(format!("The template's {what} is not valid (line {line}): {detail}")),
        None => invalid(format!("The template's {what} is not valid: {detail}")),
    }
}

/// Whether a subject and body compile (for interfaces that check before
/// saving).
pub(crate) fn render_check(subject: &str, body: &str) -> Result<()> {
    let mut env = environment();
    env.add_template_owned("subject", subject.to_string()).map_err(|e| error_of("subject", &e))?;
    env.add_template_owned("body", body.to_string()).map_err(|e| error_of("body", &e))?;
    Ok(())
}

/// A template's text compiles, and its entity exists.
pub(super) fn check(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let now = |n: &str| -> Option<String> {
        match ctx.target.get(n) {
            Some(v) => v.as_str().map(str::to_string),
            None => ctx.pre_image.and_then(|p| p.get(n)).and_then(Value::as_str).map(str::to_string),
        }
    };
    if let Some(entity) = now("templatetypecode").filter(|e| !e.is_empty()) {
        if s.schema.entity(&entity).is_none() {
            return Err(EngineError::refused(
                Some("templatetypecode"),
                "email.template_entity",
                vec![("entity", entity.clone())],
                format!("There is no entity '{entity}' for the template to be written for."),
            ));
        }
    }
    render_check(&now("subject").unwrap_or_default(), &now("body").unwrap_or_default())
}

/// A filled-in template.
pub struct Filled {
    pub subject: String,
    pub body: String,
}

/// A value as a template prints it.
fn json_of(s: &Session<'_, '_, '_>, entity: &str, name: &str, v: &Value, russian: bool) -> Json {
    let attr = s.schema.entity(entity).and_then(|e| e.attribute(name).cloned());
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => {
            let label = attr
                .as_ref()
                .filter(|a| matches!(a.kind, AttrKind::Picklist | AttrKind::State | AttrKind::Status))
                .and_then(|a| s.schema.option_label(a, *i as i32))
                .map(|l| if russian { l.ru.clone().unwrap_or_else(|| l.en.clone()) } else { l.en.clone() });
            match label {
                Some(l) => Json::String(l),
                None => Json::from(*i),
            }
        }
        Value::Decimal(d) => Json::String(d.normalize().to_string()),
        Value::Double(d) => Json::from(*d),
        Value::String(t) => Json::String(t.clone()),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::DateTime(d) => {
            let date_only = attr.as_ref().is_some_and(|a| a.format.as_deref() == Some("DateOnly"));
            Json::String(if date_only {
                d.format("%Y-%m-%d").to_string()
            } else {
                d.format("%Y-%m-%d %H:%M UTC").to_string()
            })
        }
        Value::Ref(r) => Json::String(r.id.to_string()),
        Value::Options(o) => Json::String(o.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")),
        Value::Bytes(_) => Json::Null,
    }
}

/// The placeholders templates read, as dotted paths
/// (`record.parentcustomerid.name`), so that filling them in loads only the
/// related records they name. A path that stops at a record (`record` used
/// whole, as a loop over it does) reads all of it.
pub(crate) struct Reads(HashSet<String>);

impl Reads {
    pub(crate) fn of(templates: &[&minijinja::Template<'_, '_>]) -> Reads {
        Reads(templates.iter().flat_map(|t| t.undeclared_variables(true)).collect())
    }

    /// Is `path`, something in it, or the record around it read?
    fn touches(&self, path: &str) -> bool {
        self.0.iter().any(|w| w == path || within(w, path) || within(path, w))
    }

    /// Is more of `path` read than its name?
    fn beyond_name(&self, path: &str) -> bool {
        let name = format!("{path}.name");
        self.0.iter().any(|w| w == path || within(path, w) || (within(w, path) && *w != name))
    }
}

/// Is `inner` a path inside `outer` (`record.x.y` inside `record.x`)?
fn within(inner: &str, outer: &str) -> bool {
    inner.len() > outer.len() && inner.starts_with(outer) && inner.as_bytes()[outer.len()] == b'.'
}

/// A record the caller may read, as a template at `path` sees it: its
/// columns, and the lookups `reads` names as the related records (to
/// `depth` levels) with their `name`.
pub(crate) fn record_context(
    s: &mut Session<'_, '_, '_>,
    r: &EntityRef,
    depth: u8,
    russian: bool,
    path: &str,
    reads: &Reads,
) -> Result<Json> {
    let Ok(entity) = s.entity(&r.entity) else { return Ok(Json::Null) };
    let fields: Fields = match s.load(&entity, r.id) {
        Ok(Some(f)) => f,
        Ok(None) | Err(EngineError::Forbidden(_)) => return Ok(Json::Null),
        Err(e) => return Err(e),
    };
    let mut map = Map::new();
    for (name, v) in &fields {
        let json = match v {
            Value::Ref(target) => {
                let here = format!("{path}.{name}");
                if !reads.touches(&here) {
                    continue;
                }
                let mut related = match depth > 0 && reads.beyond_name(&here) {
                    true => record_context(s, target, depth - 1, russian, &here, reads)?,
                    false => Json::Object(Map::new()),
                };
                if let Json::Object(m) = &mut related {
                    let name = s.lookup_names(&[target])?.remove(&target.id).unwrap_or_default();
                    m.insert("name".into(), Json::String(name));
                }
                related
            }
            other => json_of(s, entity.name(), name, other, russian),
        };
        map.insert(name.clone(), json);
    }
    let primary = entity.def.primary_name.clone();
    if !map.contains_key("name") {
        if let Some(n) = map.get(&primary).cloned() {
            map.insert("name".into(), n);
        }
    }
    Ok(Json::Object(map))
}

/// Fills template `id` in for `regarding` (the caller must be able to read
/// both), as the caller.
pub(crate) fn fill(s: &mut Session<'_, '_, '_>, id: Uuid, regarding: Option<&EntityRef>) -> Result<Filled> {
    let entity = s.entity("template")?;
    let template = s
        .load(&entity, id)?
        .ok_or_else(|| EngineError::not_found(format!("template With Id = {id} Does Not Exist")))?;
    s.require(&entity, Right::Read, &template, id)?;
    let text = |n: &str| template.get(n).and_then(Value::as_str).unwrap_or("").to_string();
    let kind = text("templatetypecode");
    if let (Some(r), false) = (regarding, kind.is_empty()) {
        if r.entity != kind {
            return Err(invalid(format!("The template is written for {kind} records, not {}.", r.entity)));
        }
    }
    let russian = template.get("languagecode").and_then(Value::as_i64) == Some(1049);
    let mut env = environment();
    env.add_template_owned("subject", text("subject")).map_err(|e| error_of("subject", &e))?;
    env.add_template_owned("body", text("body")).map_err(|e| error_of("body", &e))?;
    let compiled = |name: &str| env.get_template(name).map_err(|e| error_of(name, &e));
    let reads = Reads::of(&[&compiled("subject")?, &compiled("body")?]);
    let mut context = Map::new();
    if let Some(r) = regarding {
        let record = record_context(s, r, 2, russian, "record", &reads)?;
        if record.is_null() {
            return Err(EngineError::not_found(format!("{} With Id = {} Does Not Exist", r.entity, r.id)));
        }
        context.insert("record".into(), record);
    }
    if reads.touches("user") {
        let me = EntityRef { entity: "systemuser".into(), id: s.principal.user_id };
        context.insert("user".into(), record_context(s, &me, 1, russian, "user", &reads)?);
    }
    if reads.touches("organization") {
        let org = EntityRef { entity: "organization".into(), id: s.org.ids.organization };
        context.insert("organization".into(), record_context(s, &org, 0, russian, "organization", &reads)?);
    }
    let context = Json::Object(context);
    let ctx = minijinja::Value::from(minijinja::value::Serde(&context));
    let render = |name: &str| -> Result<String> { compiled(name)?.render(&ctx).map_err(|e| error_of(name, &e)) };
    let subject = render("subject")?.replace(['\r', '\n'], " ").trim().to_string();
    Ok(Filled { subject, body: render("body")? })
}

impl Session<'_, '_, '_> {
    /// A template filled in for a record, as the email form shows it before
    /// the user edits and sends it.
    pub fn fill_template(&mut self, template: Uuid, regarding: Option<&EntityRef>) -> Result<Filled> {
        fill(self, template, regarding)
    }
}

/// The record a template is filled in for: an entity's name and an id, in
/// two parameters.
fn record_param(s: &Session<'_, '_, '_>, req: &ActionRequest<'_>, kind: &str, id: &str) -> Result<EntityRef> {
    let record = EntityRef { entity: req.string(kind).unwrap_or_default().to_string(), id: req.guid(id)? };
    match s.schema.entity(&record.entity) {
        Some(_) => Ok(record),
        None => Err(invalid(format!("{kind} '{}' is not an entity.", record.entity))),
    }
}

/// `SendEmailFromTemplate`: the email of `Target` (its parties) with the
/// template's subject and body for the regarding record, created and sent.
pub(super) fn send_from_template(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let template = req.guid("TemplateId")?;
    let regarding = record_param(s, req, "RegardingType", "RegardingId")?;
    let filled = fill(s, template, Some(&regarding))?;
    let mut input = req.record("Target", "email")?;
    input.fields.retain(|(k, _)| !matches!(k.as_str(), "subject" | "description" | "regardingobjectid" | "templateid"));
    input.fields.push(("subject".into(), Value::String(filled.subject.chars().take(800).collect())));
    input.fields.push(("description".into(), Value::String(filled.body)));
    input.fields.push(("regardingobjectid".into(), Value::Ref(regarding)));
    input.fields.push(("templateid".into(), Value::Ref(EntityRef { entity: "template".into(), id: template })));
    let id = s.create("email", input)?;
    super::send::queue(s, id, true, None)?;
    Ok(ActionResponse::Record(EntityRef { entity: "email".into(), id }))
}

/// `InstantiateTemplate`: the email a template makes for a record, not
/// saved, for the caller to address, edit and send. Like Dataverse, the
/// caller needs to be able to create emails and to read the template and
/// the record.
pub(super) fn instantiate(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let template = req.guid("TemplateId")?;
    let object = record_param(s, req, "ObjectType", "ObjectId")?;
    let email = s.entity("email")?;
    if s.principal.depth(&email, Right::Create) == Depth::None {
        return Err(missing_privilege(s.principal, &email, Right::Create));
    }
    let filled = fill(s, template, Some(&object))?;
    let mut record = Map::new();
    record.insert("subject".into(), Json::String(filled.subject.chars().take(800).collect()));
    record.insert("description".into(), Json::String(filled.body));
    record.insert("_templateid_value".into(), Json::String(template.to_string()));
    Ok(ActionResponse::Drafts(vec![("email".into(), record)]))
}
