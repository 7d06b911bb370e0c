//! Relationship cascades through deep hierarchies and cycles. Deleting,
//! assigning and sharing walk the records below a record the same way: every
//! level however deep (the walks used to stop at 16), each record once, so
//! a cycle of parents ends the walk instead of looping.
//!
//! Accounts use the schema's `account_parent_account` (delete: remove link,
//! assign: cascade, share: cascade). A custom table with a parent lookup of
//! its own covers the cascades accounts lack: delete cascade and restrict,
//! user-owned assign, active-only share.

mod common;

use std::collections::{HashMap, HashSet};

use common::{batch_body, each_server, enc, last_line, parse_batch, uid, uid_alpha, BatchReq, Part, Resp, Srv};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// Levels in a chain: far beyond the 16 the walks used to stop at.
const DEPTH: usize = 210;

/// Levels in a chain too deep for a walk that recursed once per level.
const LONG: usize = 5000;

fn label(text: &str) -> Value {
    json!({ "@odata.type": "Microsoft.Dynamics.CRM.Label", "LocalizedLabels": [
        { "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": 1033 }
    ]})
}

fn get_as(srv: &Srv, token: &str, path: &str) -> Resp {
    srv.send(srv.req_as(token, Method::GET, path))
}

fn target(entity: &str, id: Uuid) -> Value {
    json!({ "@odata.type": format!("Microsoft.Dynamics.CRM.{entity}"), format!("{entity}id"): id })
}

fn user_ref(id: Uuid) -> Value {
    json!({ "@odata.type": "Microsoft.Dynamics.CRM.systemuser", "systemuserid": id })
}

fn grant_read(srv: &Srv, entity: &str, id: Uuid, user: Uuid) {
    srv.post(
        "/GrantAccess",
        &json!({ "Target": target(entity, id), "PrincipalAccess": { "Principal": user_ref(user), "AccessMask": "ReadAccess" } }),
    )
    .expect(204);
}

fn revoke(srv: &Srv, entity: &str, id: Uuid, user: Uuid) {
    srv.post("/RevokeAccess", &json!({ "Target": target(entity, id), "Revokee": user_ref(user) })).expect(204);
}

fn uuid_at(v: &Value, key: &str) -> Option<Uuid> {
    v.get(key).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
}

/// `DEPTH` accounts named `Chain {tag} NNN`, each the parent of the next;
/// the top first.
fn account_chain(srv: &Srv, tag: &str) -> Vec<Uuid> {
    let mut chain: Vec<Uuid> = Vec::with_capacity(DEPTH);
    for i in 0..DEPTH {
        let mut body = json!({ "name": format!("Chain {tag} {i:03}") });
        if let Some(parent) = chain.last() {
            body["parentaccountid@odata.bind"] = json!(format!("/accounts({parent})"));
        }
        chain.push(srv.create("accounts", &body));
    }
    chain
}

/// accountid → (parent, owner) of the chain's accounts still there, as the
/// holder of `token` sees them.
fn accounts_of(srv: &Srv, token: &str, tag: &str) -> HashMap<Uuid, (Option<Uuid>, Option<Uuid>)> {
    let filter = enc(&format!("startswith(name,'Chain {tag} ')"));
    get_as(srv, token, &format!("/accounts?$select=name,_parentaccountid_value,_ownerid_value&$filter={filter}"))
        .rows()
        .iter()
        .map(|r| {
            (uuid_at(r, "accountid").unwrap(), (uuid_at(r, "_parentaccountid_value"), uuid_at(r, "_ownerid_value")))
        })
        .collect()
}

/// A custom user-owned table with a lookup to itself whose cascades are
/// `cascades` (`CascadeConfiguration`), and a role that reads it.
struct Tree {
    /// Logical name of the table.
    entity: String,
    set: String,
    /// Primary name column.
    name: String,
    /// The parent lookup's navigation property.
    parent: String,
    reader_role: Uuid,
}

fn custom_tree(srv: &Srv, cascades: Value) -> Tree {
    let sfx = uid_alpha();
    let schema = format!("new_Node{sfx}");
    let logical = schema.to_lowercase();
    srv.post(
        "/EntityDefinitions",
        &json!({
            "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
            "SchemaName": schema,
            "DisplayName": label("Node"),
            "DisplayCollectionName": label("Nodes"),
            "OwnershipType": "UserOwned",
            "IsActivity": false,
            "HasActivities": false,
            "HasNotes": true,
            "Attributes": [{
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": format!("new_Name{sfx}"),
                "IsPrimaryName": true,
                "MaxLength": 100,
                "DisplayName": label("Name"),
            }],
        }),
    )
    .expect(204);
    let relationship = format!("new_node{sfx}_parent");
    srv.post(
        "/RelationshipDefinitions",
        &json!({
            "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "SchemaName": relationship,
            "ReferencedEntity": logical,
            "ReferencingEntity": logical,
            "CascadeConfiguration": cascades,
            "Lookup": { "SchemaName": format!("new_Parent{sfx}"), "DisplayName": label("Parent") },
        }),
    )
    .expect(204);
    let root = uuid_at(&srv.whoami_as(&srv.token), "BusinessUnitId").unwrap();
    let reader_role = srv.create(
        "roles",
        &json!({ "name": format!("Node reader {sfx}"), "businessunitid@odata.bind": format!("/businessunits({root})") }),
    );
    srv.post(
        &format!("/roles({reader_role})/Microsoft.Dynamics.CRM.AddPrivilegesRole"),
        &json!({ "Privileges": [{ "PrivilegeName": format!("prvRead{schema}"), "Depth": "Basic" }] }),
    )
    .expect(204);
    Tree {
        set: format!("{logical}s"),
        entity: logical,
        name: format!("new_name{sfx}"),
        parent: format!("new_parent{sfx}"),
        reader_role,
    }
}

impl Tree {
    /// `DEPTH` records, each the parent of the next; `owner_of(level)` may
    /// give a level another owner than the admin.
    fn chain(&self, srv: &Srv, owner_of: impl Fn(usize) -> Option<Uuid>) -> Vec<Uuid> {
        let mut chain: Vec<Uuid> = Vec::with_capacity(DEPTH);
        for i in 0..DEPTH {
            let mut body = json!({ self.name.clone(): format!("Level {i:03}") });
            if let Some(parent) = chain.last() {
                body[format!("{}@odata.bind", self.parent)] = json!(format!("/{}({parent})", self.set));
            }
            if let Some(owner) = owner_of(i) {
                body["ownerid@odata.bind"] = json!(format!("/systemusers({owner})"));
            }
            chain.push(srv.create(&self.set, &body));
        }
        chain
    }

    /// `n` records, each the parent of the next, created a thousand to a
    /// `$batch` change set with ids chosen here.
    fn long_chain(&self, srv: &Srv, n: usize) -> Vec<Uuid> {
        let chain: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
        for (block, ids) in chain.chunks(1000).enumerate() {
            let reqs: Vec<BatchReq> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let level = block * 1000 + i;
                    let mut body =
                        json!({ self.name.clone(): format!("Level {level:04}"), format!("{}id", self.entity): id });
                    if level > 0 {
                        body[format!("{}@odata.bind", self.parent)] =
                            json!(format!("/{}({})", self.set, chain[level - 1]));
                    }
                    BatchReq::new("POST", format!("{}/{}", srv.api, self.set), Some(body))
                })
                .collect();
            let (ct, body) = batch_body(&[Part::ChangeSet(reqs)]);
            let r = srv.send(srv.req(Method::POST, "/$batch").header("Content-Type", ct).body(body));
            r.expect(200);
            let parts = parse_batch(&r.header("Content-Type").unwrap_or_default(), &r.text());
            assert!(parts.len() == ids.len() && parts.iter().all(|p| p.status == 204), "{}", r.text());
        }
        chain
    }

    /// id → owner of the records of the table the holder of `token` sees.
    fn visible(&self, srv: &Srv, token: &str) -> HashMap<Uuid, Uuid> {
        let key = format!("{}id", self.entity);
        get_as(srv, token, &format!("/{}?$select={},_ownerid_value", self.set, self.name))
            .rows()
            .iter()
            .map(|r| (uuid_at(r, &key).unwrap(), uuid_at(r, "_ownerid_value").unwrap()))
            .collect()
    }

    /// A user (Salesperson) who may read records of the table.
    fn reader(&self, srv: &Srv) -> common::TestUser {
        let u = srv.new_user(&["Salesperson"]);
        srv.post(
            &format!("/systemusers({})/systemuserroles_association/$ref", u.id),
            &json!({ "@odata.id": format!("{}/roles({})", srv.api, self.reader_role) }),
        )
        .expect(204);
        // A fresh token, so the new role is in the principal it names.
        let token = last_line(&srv.cli(&["token", "create", "--email", &u.email]).stdout);
        common::TestUser { token, ..u }
    }
}

fn delete_audits(srv: &Srv, entity: &str) -> HashSet<Uuid> {
    let filter = enc(&format!("objecttypecode eq '{entity}' and action eq 3"));
    srv.get(&format!("/audits?$select=action,_objectid_value&$filter={filter}"))
        .rows()
        .iter()
        .map(|r| uuid_at(r, "_objectid_value").unwrap())
        .collect()
}

#[test]
fn deleting_the_top_of_a_deep_account_chain_removes_only_its_link_and_what_it_passed_down() {
    each_server(|srv| {
        let sam = srv.new_user(&["Salesperson"]);
        let tag = uid();
        let chain = account_chain(srv, &tag);
        grant_read(srv, "account", chain[0], sam.id);
        assert_eq!(accounts_of(srv, &sam.token, &tag).len(), DEPTH, "the share reached every level");
        let version = |id: Uuid| srv.retrieve("accounts", id, "$select=versionnumber")["versionnumber"].as_i64();
        let before = version(chain[1]);

        srv.delete(&format!("/accounts({})", chain[0])).expect(204);

        // account_parent_account removes the link: the next account loses its
        // parent, every account below keeps its own.
        let left = accounts_of(srv, &srv.token, &tag);
        assert_eq!(left.len(), DEPTH - 1, "only the deleted account is gone");
        assert_eq!(left[&chain[1]].0, None, "the link to the deleted parent is cleared");
        assert!(version(chain[1]) > before, "clearing the link is a new version");
        for i in 2..DEPTH {
            assert_eq!(left[&chain[i]].0, Some(chain[i - 1]), "level {i} keeps its parent");
        }
        // What the deleted account passed down is gone from every level.
        assert!(accounts_of(srv, &sam.token, &tag).is_empty(), "nothing inherited from the deleted account is left");
    });
}

#[test]
fn deleting_the_top_of_a_deep_cascade_delete_chain_deletes_and_audits_every_level_unless_restricted() {
    each_server(|srv| {
        let tree = custom_tree(srv, json!({ "Delete": "Cascade", "Assign": "NoCascade", "Share": "NoCascade" }));
        let logical = tree.entity.clone();
        let chain = tree.chain(srv, |_| None);
        let bottom = chain[DEPTH - 1];
        let note = srv.create(
            "annotations",
            &json!({ "subject": "at the bottom", format!("objectid_{logical}@odata.bind"): format!("/{}({bottom})", tree.set) }),
        );
        // An account whose restrict lookup points at the bottom level holds
        // the whole chain.
        let block = format!("new_block{}", uid_alpha());
        let block_rel = format!("{logical}_{block}");
        srv.post(
            "/RelationshipDefinitions",
            &json!({
                "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
                "SchemaName": block_rel,
                "ReferencedEntity": logical,
                "ReferencingEntity": "account",
                "CascadeConfiguration": { "Delete": "Restrict" },
                "Lookup": { "SchemaName": block, "DisplayName": label("Blocked by") },
            }),
        )
        .expect(204);
        let holder = srv.create(
            "accounts",
            &json!({ "name": format!("Holder {}", uid()), format!("{block}@odata.bind"): format!("/{}({bottom})", tree.set) }),
        );
        let m = srv.delete(&format!("/{}({})", tree.set, chain[0])).expect_error(400);
        assert_eq!(
            m,
            format!(
                "The record cannot be deleted because 1 'account' record(s) are associated with it through '{block_rel}'."
            )
        );
        assert_eq!(tree.visible(srv, &srv.token).len(), DEPTH, "a refused delete deletes nothing");
        assert!(delete_audits(srv, &logical).is_empty());

        srv.delete(&format!("/accounts({holder})")).expect(204);
        srv.delete(&format!("/{}({})", tree.set, chain[0])).expect(204);
        assert!(tree.visible(srv, &srv.token).is_empty(), "every level is deleted");
        srv.get(&format!("/annotations({note})")).expect_error(404);
        assert_eq!(delete_audits(srv, &logical), chain.iter().copied().collect::<HashSet<_>>(), "each level audited");
    });
}

#[test]
fn assigning_the_top_of_a_deep_account_chain_moves_every_level_and_its_children() {
    each_server(|srv| {
        let sam = srv.new_user(&["Salesperson"]);
        let admin = srv.admin_id();
        let tag = uid();
        let chain = account_chain(srv, &tag);
        let bottom = chain[DEPTH - 1];
        let contact = srv.create(
            "contacts",
            &json!({ "lastname": "Deep", "parentcustomerid_account@odata.bind": format!("/accounts({bottom})") }),
        );
        let open = srv.create(
            "tasks",
            &json!({ "subject": "Open", "regardingobjectid_account_task@odata.bind": format!("/accounts({bottom})") }),
        );
        let done = srv.create(
            "tasks",
            &json!({ "subject": "Done", "regardingobjectid_account_task@odata.bind": format!("/accounts({bottom})") }),
        );
        srv.patch(&format!("/tasks({done})"), &json!({ "statecode": 1 })).expect(204);

        srv.patch(
            &format!("/accounts({})", chain[0]),
            &json!({ "ownerid@odata.bind": format!("/systemusers({})", sam.id) }),
        )
        .expect(204);

        let all = accounts_of(srv, &srv.token, &tag);
        for (i, id) in chain.iter().enumerate() {
            assert_eq!(all[id].1, Some(sam.id), "level {i} follows its parent (assign: cascade)");
        }
        let owner =
            |set: &str, id: Uuid| uuid_at(&srv.retrieve(set, id, "$select=_ownerid_value"), "_ownerid_value").unwrap();
        assert_eq!(owner("contacts", contact), sam.id, "a contact of the bottom account follows");
        assert_eq!(owner("tasks", open), sam.id, "an open activity of the bottom account follows");
        assert_eq!(owner("tasks", done), admin, "a closed one stays (assign: active)");
        // Each moved account is audited as an assignment.
        let filter = enc("objecttypecode eq 'account' and action eq 13");
        let assigned: HashSet<Uuid> = srv
            .get(&format!("/audits?$select=action,_objectid_value&$filter={filter}"))
            .rows()
            .iter()
            .filter_map(|r| uuid_at(r, "_objectid_value"))
            .collect();
        assert!(chain.iter().all(|id| assigned.contains(id)), "every level's assignment is audited");
    });
}

#[test]
fn a_user_owned_assign_cascade_reaches_every_level_the_previous_owner_held() {
    each_server(|srv| {
        let tree = custom_tree(srv, json!({ "Delete": "RemoveLink", "Assign": "UserOwned", "Share": "NoCascade" }));
        let (sam, bob) = (tree.reader(srv), tree.reader(srv));
        let admin = srv.admin_id();
        // Level 150 is Bob's; the admin owns the rest.
        let chain = tree.chain(srv, |i| (i == 150).then_some(bob.id));

        srv.patch(
            &format!("/{}({})", tree.set, chain[0]),
            &json!({ "ownerid@odata.bind": format!("/systemusers({})", sam.id) }),
        )
        .expect(204);

        let owners = tree.visible(srv, &srv.token);
        for (i, id) in chain.iter().enumerate() {
            let expected = match i {
                0..150 => sam.id,
                150 => bob.id,
                // Below a record the cascade left alone, nothing moves.
                _ => admin,
            };
            assert_eq!(owners[id], expected, "level {i}");
        }
    });
}

#[test]
fn a_share_on_the_top_of_a_deep_account_chain_reaches_every_level_and_goes_with_it() {
    each_server(|srv| {
        let sam = srv.new_user(&["Salesperson"]);
        let tag = uid();
        let chain = account_chain(srv, &tag);
        let bottom = chain[DEPTH - 1];
        let contact = srv.create(
            "contacts",
            &json!({ "lastname": "Deep", "parentcustomerid_account@odata.bind": format!("/accounts({bottom})") }),
        );
        let task = srv.create(
            "tasks",
            &json!({ "subject": "Deep", "regardingobjectid_account_task@odata.bind": format!("/accounts({bottom})") }),
        );
        assert!(accounts_of(srv, &sam.token, &tag).is_empty());

        grant_read(srv, "account", chain[0], sam.id);
        let seen = accounts_of(srv, &sam.token, &tag);
        assert_eq!(seen.len(), DEPTH, "every level inherits the share");
        get_as(srv, &sam.token, &format!("/contacts({contact})?$select=lastname")).expect(200);
        get_as(srv, &sam.token, &format!("/tasks({task})?$select=subject")).expect(200);

        // Moving level 100 under an unshared account: it and every level
        // below it lose what they inherited from the top.
        let elsewhere = srv.create("accounts", &json!({ "name": format!("Elsewhere {tag}") }));
        srv.patch(
            &format!("/accounts({})", chain[100]),
            &json!({ "parentaccountid@odata.bind": format!("/accounts({elsewhere})") }),
        )
        .expect(204);
        let seen = accounts_of(srv, &sam.token, &tag);
        assert_eq!(seen.len(), 100, "levels 0 to 99 only");
        assert!(chain[..100].iter().all(|id| seen.contains_key(id)));
        get_as(srv, &sam.token, &format!("/contacts({contact})?$select=lastname")).expect_error(404);

        // Back under the chain: inherited again, to the bottom.
        srv.patch(
            &format!("/accounts({})", chain[100]),
            &json!({ "parentaccountid@odata.bind": format!("/accounts({})", chain[99]) }),
        )
        .expect(204);
        assert_eq!(accounts_of(srv, &sam.token, &tag).len(), DEPTH);
        get_as(srv, &sam.token, &format!("/tasks({task})?$select=subject")).expect(200);

        revoke(srv, "account", chain[0], sam.id);
        assert!(accounts_of(srv, &sam.token, &tag).is_empty(), "revoking takes it from every level");
        get_as(srv, &sam.token, &format!("/contacts({contact})?$select=lastname")).expect_error(404);
        get_as(srv, &sam.token, &format!("/tasks({task})?$select=subject")).expect_error(404);
    });
}

#[test]
fn an_active_share_cascade_reaches_every_open_level() {
    each_server(|srv| {
        let tree = custom_tree(srv, json!({ "Delete": "RemoveLink", "Assign": "NoCascade", "Share": "Active" }));
        let bob = tree.reader(srv);
        let chain = tree.chain(srv, |_| None);
        // Level 180 is inactive: the cascade does not pass through it.
        srv.patch(&format!("/{}({})", tree.set, chain[180]), &json!({ "statecode": 1 })).expect(204);

        grant_read(srv, &tree.entity, chain[0], bob.id);
        let seen = tree.visible(srv, &bob.token);
        let reached = chain.iter().take_while(|id| seen.contains_key(id)).count();
        assert_eq!((reached, seen.len()), (180, 180), "levels 0 to 179 inherit; the inactive level and below do not");
    });
}

#[test]
fn cycles_of_parents_end_every_cascade() {
    each_server(|srv| {
        let sam = srv.new_user(&["Salesperson"]);
        let tag = uid();
        // A is the parent of B and B the parent of A; C is its own parent.
        let a = srv.create("accounts", &json!({ "name": format!("Chain {tag} A") }));
        let b = srv.create(
            "accounts",
            &json!({ "name": format!("Chain {tag} B"), "parentaccountid@odata.bind": format!("/accounts({a})") }),
        );
        srv.patch(&format!("/accounts({a})"), &json!({ "parentaccountid@odata.bind": format!("/accounts({b})") }))
            .expect(204);
        let c = srv.create("accounts", &json!({ "name": format!("Chain {tag} C") }));
        srv.patch(&format!("/accounts({c})"), &json!({ "parentaccountid@odata.bind": format!("/accounts({c})") }))
            .expect(204);

        for top in [a, c] {
            srv.patch(
                &format!("/accounts({top})"),
                &json!({ "ownerid@odata.bind": format!("/systemusers({})", sam.id) }),
            )
            .expect(204);
        }
        let all = accounts_of(srv, &srv.token, &tag);
        assert!(all.values().all(|(_, owner)| *owner == Some(sam.id)), "{all:?}");
        // Back from the other side of the cycle.
        let admin = srv.admin_id();
        srv.patch(&format!("/accounts({b})"), &json!({ "ownerid@odata.bind": format!("/systemusers({admin})") }))
            .expect(204);
        let all = accounts_of(srv, &srv.token, &tag);
        assert_eq!((all[&a].1, all[&b].1, all[&c].1), (Some(admin), Some(admin), Some(sam.id)));

        grant_read(srv, "account", a, sam.id);
        grant_read(srv, "account", c, sam.id);
        let seen = accounts_of(srv, &sam.token, &tag);
        assert_eq!(seen.len(), 3, "A, B through A, and C: {seen:?}");
        revoke(srv, "account", a, sam.id);
        let seen = accounts_of(srv, &sam.token, &tag);
        assert_eq!(seen.keys().collect::<Vec<_>>(), vec![&c], "nothing of A's share is left on B");

        srv.delete(&format!("/accounts({a})")).expect(204);
        let left = accounts_of(srv, &srv.token, &tag);
        assert_eq!(left.len(), 2);
        assert_eq!(left[&b].0, None, "B's link to A is removed");
        srv.delete(&format!("/accounts({c})")).expect(204);
        assert_eq!(accounts_of(srv, &srv.token, &tag).len(), 1);

        // With delete cascade, a cycle deletes both, each audited once.
        let tree = custom_tree(srv, json!({ "Delete": "Cascade", "Assign": "Cascade", "Share": "Cascade" }));
        let logical = tree.entity.clone();
        let x = srv.create(&tree.set, &json!({ tree.name.clone(): "X" }));
        let y = srv.create(
            &tree.set,
            &json!({ tree.name.clone(): "Y", format!("{}@odata.bind", tree.parent): format!("/{}({x})", tree.set) }),
        );
        srv.patch(
            &format!("/{}({x})", tree.set),
            &json!({ format!("{}@odata.bind", tree.parent): format!("/{}({y})", tree.set) }),
        )
        .expect(204);
        let reader = tree.reader(srv);
        srv.patch(
            &format!("/{}({x})", tree.set),
            &json!({ "ownerid@odata.bind": format!("/systemusers({})", reader.id) }),
        )
        .expect(204);
        assert!(tree.visible(srv, &srv.token).values().all(|o| *o == reader.id));
        srv.delete(&format!("/{}({x})", tree.set)).expect(204);
        assert!(tree.visible(srv, &srv.token).is_empty());
        assert_eq!(delete_audits(srv, &logical), HashSet::from([x, y]));
    });
}

#[test]
fn a_chain_thousands_deep_is_assigned_shared_and_deleted_whole() {
    each_server(|srv| {
        let tree = custom_tree(srv, json!({ "Delete": "Cascade", "Assign": "Cascade", "Share": "Cascade" }));
        let (sam, bob) = (tree.reader(srv), tree.reader(srv));
        let chain = tree.long_chain(srv, LONG);
        assert_eq!(tree.visible(srv, &srv.token).len(), LONG);

        srv.patch(
            &format!("/{}({})", tree.set, chain[0]),
            &json!({ "ownerid@odata.bind": format!("/systemusers({})", sam.id) }),
        )
        .expect(204);
        let owners = tree.visible(srv, &sam.token);
        assert_eq!(owners.len(), LONG, "every level follows the assignment");
        assert!(owners.values().all(|o| *o == sam.id));

        grant_read(srv, &tree.entity, chain[0], bob.id);
        assert_eq!(tree.visible(srv, &bob.token).len(), LONG, "every level inherits the share");

        srv.delete(&format!("/{}({})", tree.set, chain[0])).expect(204);
        assert!(tree.visible(srv, &srv.token).is_empty(), "every level is deleted");
        assert_eq!(delete_audits(srv, &tree.entity).len(), LONG);
    });
}
