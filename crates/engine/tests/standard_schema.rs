//! The standard schema — the platform's files with those of the standard
//! modules — loads, builds, and carries the Dataverse names, navigation
//! properties and state models clients rely on.

use std::collections::{HashMap, HashSet};

use relata_engine::modules::{standard, Modules};
use relata_metadata::*;

/// The platform's definitions with the standard modules' files.
fn definitions() -> (Vec<EntityDef>, Vec<OptionSetDef>) {
    let modules = Modules::build(&standard()).expect("the standard modules register");
    definitions_with(modules.schema_files()).expect("the standard definitions parse")
}

fn schema() -> Schema {
    let (entities, option_sets) = definitions();
    Schema::build(entities, option_sets).expect("the standard schema builds")
}

fn entity<'a>(s: &'a Schema, name: &str) -> &'a Entity {
    s.entity(name).unwrap_or_else(|| panic!("entity '{name}' is missing"))
}

#[test]
fn builds() {
    let s = schema();
    assert!(s.entities().count() >= 24);
}

#[test]
fn entities_have_dataverse_entity_sets_and_keys() {
    let s = schema();
    let expected = [
        // (logical name, entity set, primary id, primary name, object type code)
        ("organization", "organizations", "organizationid", "name", 1019),
        ("businessunit", "businessunits", "businessunitid", "name", 10),
        ("systemuser", "systemusers", "systemuserid", "fullname", 8),
        ("team", "teams", "teamid", "name", 9),
        ("role", "roles", "roleid", "name", 1036),
        ("transactioncurrency", "transactioncurrencies", "transactioncurrencyid", "currencyname", 9105),
        ("account", "accounts", "accountid", "name", 1),
        ("contact", "contacts", "contactid", "fullname", 2),
        ("lead", "leads", "leadid", "fullname", 4),
        ("opportunity", "opportunities", "opportunityid", "name", 3),
        ("activitypointer", "activitypointers", "activityid", "subject", 4200),
        ("task", "tasks", "activityid", "subject", 4212),
        ("phonecall", "phonecalls", "activityid", "subject", 4210),
        ("email", "emails", "activityid", "subject", 4202),
        ("appointment", "appointments", "activityid", "subject", 4201),
        ("letter", "letters", "activityid", "subject", 4207),
        ("fax", "faxes", "activityid", "subject", 4204),
        ("activityparty", "activityparties", "activitypartyid", "addressused", 135),
        ("annotation", "annotations", "annotationid", "subject", 5),
    ];
    for (name, set, id, primary_name, otc) in expected {
        let e = entity(&s, name);
        assert_eq!(e.def.entity_set, set, "{name}: entity set");
        assert_eq!(e.primary_id(), id, "{name}: primary id");
        assert_eq!(e.def.primary_name, primary_name, "{name}: primary name");
        assert_eq!(e.def.object_type_code, otc, "{name}: object type code");
        let by_set = s.entity_by_set(set).unwrap_or_else(|| panic!("entity set '{set}' is not indexed"));
        assert_eq!(by_set.name(), name);
        let pid = e.attribute(id).unwrap_or_else(|| panic!("{name}: primary id attribute"));
        assert_eq!(pid.kind, AttrKind::Uniqueidentifier);
        let pname = e.attribute(primary_name).unwrap_or_else(|| panic!("{name}: primary name attribute"));
        assert_eq!(pname.kind, AttrKind::String, "{name}: primary name is a string");
    }
    for (name, set, id) in [
        ("systemuserroles", "systemuserrolescollection", "systemuserroleid"),
        ("teammembership", "teammemberships", "teammembershipid"),
        ("teamroles", "teamrolescollection", "teamroleid"),
        ("accountleads", "accountleadscollection", "accountleadid"),
        ("contactleads", "contactleadscollection", "contactleadid"),
    ] {
        let e = entity(&s, name);
        assert!(e.def.is_intersect, "{name} is an intersect entity");
        assert_eq!(e.def.entity_set, set);
        assert_eq!(e.primary_id(), id);
        assert!(s.entity_by_set(set).is_none(), "intersect '{name}' has no API surface");
    }
    // Activities share the activity table and are told apart by a discriminator.
    for name in ["task", "phonecall", "email", "appointment", "letter", "fax"] {
        let e = entity(&s, name);
        assert_eq!(e.table(), "activitypointer");
        assert_eq!(e.discriminator.as_deref(), Some(name));
    }
    assert_eq!(entity(&s, "activitypointer").discriminator, None);
}

fn assert_single(s: &Schema, on: &str, nav: &str, attribute: &str, target: &str, relationship: &str) {
    match entity(s, on).nav(nav) {
        Some(Nav::Single { attribute: a, target: t, relationship: r }) => {
            assert_eq!((a.as_str(), t.as_str(), r.as_str()), (attribute, target, relationship), "{on}.{nav}");
        }
        other => panic!("{on}.{nav}: expected a single-valued navigation property, got {other:?}"),
    }
}

fn assert_collection(s: &Schema, on: &str, nav: &str, entity_name: &str, attribute: &str) {
    match entity(s, on).nav(nav) {
        Some(Nav::Collection { entity: e, attribute: a, relationship: r }) => {
            assert_eq!((e.as_str(), a.as_str()), (entity_name, attribute), "{on}.{nav}");
            assert_eq!(r, nav, "{on}.{nav}: relationship name is the collection nav name");
        }
        other => panic!("{on}.{nav}: expected a collection navigation property, got {other:?}"),
    }
}

fn assert_many_to_many(
    s: &Schema,
    on: &str,
    nav: &str,
    other: &str,
    table: &str,
    self_column: &str,
    other_column: &str,
) {
    match entity(s, on).nav(nav) {
        Some(Nav::ManyToMany { relationship, entity: e, table: t, self_column: sc, other_column: oc }) => {
            assert_eq!(relationship, nav);
            assert_eq!(
                (e.as_str(), t.as_str(), sc.as_str(), oc.as_str()),
                (other, table, self_column, other_column),
                "{on}.{nav}"
            );
        }
        other => panic!("{on}.{nav}: expected a many-to-many navigation property, got {other:?}"),
    }
}

#[test]
fn navigation_properties_resolve() {
    let s = schema();

    // Customer lookups.
    assert_single(
        &s,
        "contact",
        "parentcustomerid_account",
        "parentcustomerid",
        "account",
        "contact_customer_accounts",
    );
    assert_single(
        &s,
        "contact",
        "parentcustomerid_contact",
        "parentcustomerid",
        "contact",
        "contact_customer_contacts",
    );
    assert_collection(&s, "account", "contact_customer_accounts", "contact", "parentcustomerid");
    assert_collection(&s, "contact", "contact_customer_contacts", "contact", "parentcustomerid");
    assert_single(&s, "opportunity", "customerid_account", "customerid", "account", "opportunity_customer_accounts");
    assert_single(&s, "opportunity", "customerid_contact", "customerid", "contact", "opportunity_customer_contacts");
    assert_collection(&s, "account", "opportunity_customer_accounts", "opportunity", "customerid");
    assert_single(&s, "lead", "customerid_account", "customerid", "account", "lead_customer_accounts");

    // Simple lookups: the single-valued nav is the attribute name.
    assert_single(&s, "account", "parentaccountid", "parentaccountid", "account", "account_parent_account");
    assert_collection(&s, "account", "account_parent_account", "account", "parentaccountid");
    assert_single(&s, "account", "primarycontactid", "primarycontactid", "contact", "account_primary_contact");
    assert_collection(&s, "contact", "account_primary_contact", "account", "primarycontactid");
    assert_single(
        &s,
        "account",
        "transactioncurrencyid",
        "transactioncurrencyid",
        "transactioncurrency",
        "transactioncurrency_account",
    );
    assert_single(&s, "account", "originatingleadid", "originatingleadid", "lead", "account_originating_lead");
    assert_collection(&s, "lead", "account_originating_lead", "account", "originatingleadid");
    assert_single(&s, "lead", "parentaccountid", "parentaccountid", "account", "lead_parent_account");
    assert_single(
        &s,
        "lead",
        "qualifyingopportunityid",
        "qualifyingopportunityid",
        "opportunity",
        "lead_qualifying_opportunity",
    );
    assert_single(&s, "opportunity", "parentaccountid", "parentaccountid", "account", "opportunity_parent_account");
    assert_collection(&s, "lead", "opportunity_originating_lead", "opportunity", "originatingleadid");
    assert_single(&s, "systemuser", "businessunitid", "businessunitid", "businessunit", "business_unit_system_users");
    assert_collection(&s, "businessunit", "business_unit_system_users", "systemuser", "businessunitid");
    assert_single(&s, "systemuser", "parentsystemuserid", "parentsystemuserid", "systemuser", "user_parent_user");
    assert_single(
        &s,
        "businessunit",
        "parentbusinessunitid",
        "parentbusinessunitid",
        "businessunit",
        "business_unit_parent_business_unit",
    );
    assert_single(
        &s,
        "organization",
        "basecurrencyid",
        "basecurrencyid",
        "transactioncurrency",
        "basecurrency_organization",
    );

    // Generated: activities regarding a record.
    assert_collection(&s, "account", "Account_Tasks", "task", "regardingobjectid");
    assert_collection(&s, "account", "Account_Phonecalls", "phonecall", "regardingobjectid");
    assert_collection(&s, "account", "Account_Faxes", "fax", "regardingobjectid");
    assert_collection(&s, "contact", "Contact_Emails", "email", "regardingobjectid");
    assert_collection(&s, "lead", "Lead_Appointments", "appointment", "regardingobjectid");
    assert_collection(&s, "opportunity", "Opportunity_Letters", "letter", "regardingobjectid");
    assert_collection(&s, "account", "Account_ActivityPointers", "activitypointer", "regardingobjectid");
    assert_single(&s, "task", "regardingobjectid_account_task", "regardingobjectid", "account", "Account_Tasks");
    assert_single(
        &s,
        "email",
        "regardingobjectid_opportunity_email",
        "regardingobjectid",
        "opportunity",
        "Opportunity_Emails",
    );

    // Generated: notes.
    assert_collection(&s, "account", "Account_Annotation", "annotation", "objectid");
    assert_collection(&s, "contact", "Contact_Annotation", "annotation", "objectid");
    assert_collection(&s, "lead", "Lead_Annotation", "annotation", "objectid");
    assert_collection(&s, "opportunity", "Opportunity_Annotation", "annotation", "objectid");
    assert_collection(&s, "task", "Task_Annotation", "annotation", "objectid");
    assert_collection(&s, "phonecall", "PhoneCall_Annotation", "annotation", "objectid");
    assert_single(&s, "annotation", "objectid_account", "objectid", "account", "Account_Annotation");

    // Generated and declared: activity parties.
    assert_collection(&s, "email", "email_activity_parties", "activityparty", "activityid");
    assert_collection(&s, "appointment", "appointment_activity_parties", "activityparty", "activityid");
    assert_single(&s, "activityparty", "activityid_email", "activityid", "email", "email_activity_parties");
    assert_single(&s, "activityparty", "partyid_contact", "partyid", "contact", "contact_activity_parties");
    assert_single(&s, "activityparty", "partyid_systemuser", "partyid", "systemuser", "system_user_activity_parties");
    assert_collection(&s, "account", "account_activity_parties", "activityparty", "partyid");
    assert_collection(&s, "lead", "lead_activity_parties", "activityparty", "partyid");

    // Many-to-many, from both sides.
    assert_many_to_many(
        &s,
        "systemuser",
        "systemuserroles_association",
        "role",
        "systemuserroles",
        "systemuserid",
        "roleid",
    );
    assert_many_to_many(
        &s,
        "role",
        "systemuserroles_association",
        "systemuser",
        "systemuserroles",
        "roleid",
        "systemuserid",
    );
    assert_many_to_many(
        &s,
        "team",
        "teammembership_association",
        "systemuser",
        "teammembership",
        "teamid",
        "systemuserid",
    );
    assert_many_to_many(
        &s,
        "systemuser",
        "teammembership_association",
        "team",
        "teammembership",
        "systemuserid",
        "teamid",
    );
    assert_many_to_many(&s, "team", "teamroles_association", "role", "teamroles", "teamid", "roleid");
    assert_many_to_many(&s, "account", "accountleads_association", "lead", "accountleads", "accountid", "leadid");
    assert_many_to_many(&s, "lead", "contactleads_association", "contact", "contactleads", "leadid", "contactid");
}

#[test]
fn intersect_tables_carry_the_many_to_many_columns() {
    let s = schema();
    for m in s.many_to_many() {
        let table = entity(&s, &m.intersect_table);
        assert!(table.def.is_intersect, "{}: intersect table", m.name);
        for column in [&m.entity1_column, &m.entity2_column] {
            let a = table.attribute(column).unwrap_or_else(|| panic!("{}: column {column}", m.name));
            assert_eq!(a.kind, AttrKind::Uniqueidentifier);
        }
        assert_eq!(entity(&s, &m.entity1).primary_id(), m.entity1_column, "{}", m.name);
        assert_eq!(entity(&s, &m.entity2).primary_id(), m.entity2_column, "{}", m.name);
    }
}

/// `(state value, invariant name, default status, [status values])`
fn state_model(s: &Schema, name: &str) -> Vec<(i32, String, i32, Vec<i32>)> {
    entity(s, name)
        .def
        .states
        .iter()
        .map(|st| (st.value, st.name.clone(), st.default_status, st.statuses.iter().map(|x| x.value).collect()))
        .collect()
}

fn model(rows: &[(i32, &str, i32, &[i32])]) -> Vec<(i32, String, i32, Vec<i32>)> {
    rows.iter().map(|(v, n, d, st)| (*v, n.to_string(), *d, st.to_vec())).collect()
}

#[test]
fn state_models_match_dataverse() {
    let s = schema();
    assert_eq!(
        state_model(&s, "lead"),
        model(&[(0, "Open", 1, &[1, 2]), (1, "Qualified", 3, &[3]), (2, "Disqualified", 4, &[4, 5, 6, 7])])
    );
    assert_eq!(
        state_model(&s, "opportunity"),
        model(&[(0, "Open", 1, &[1, 2]), (1, "Won", 3, &[3]), (2, "Lost", 4, &[4, 5])])
    );
    assert_eq!(
        state_model(&s, "task"),
        model(&[(0, "Open", 2, &[2, 3, 4, 7]), (1, "Completed", 5, &[5]), (2, "Canceled", 6, &[6])])
    );
    assert_eq!(
        state_model(&s, "phonecall"),
        model(&[(0, "Open", 1, &[1]), (1, "Completed", 2, &[2, 4]), (2, "Canceled", 3, &[3])])
    );
    assert_eq!(
        state_model(&s, "email"),
        model(&[(0, "Open", 1, &[1, 8]), (1, "Completed", 2, &[2, 3, 4, 6, 7]), (2, "Canceled", 5, &[5])])
    );
    assert_eq!(
        state_model(&s, "appointment"),
        model(&[
            (0, "Open", 1, &[1, 2]),
            (1, "Completed", 3, &[3]),
            (2, "Canceled", 4, &[4]),
            (3, "Scheduled", 5, &[5, 6])
        ])
    );
    assert_eq!(
        state_model(&s, "letter"),
        model(&[(0, "Open", 2, &[1, 2]), (1, "Completed", 4, &[3, 4]), (2, "Canceled", 5, &[5])])
    );
    assert_eq!(
        state_model(&s, "fax"),
        model(&[(0, "Open", 1, &[1]), (1, "Completed", 2, &[2, 3, 4]), (2, "Canceled", 5, &[5])])
    );
    assert_eq!(
        state_model(&s, "activitypointer"),
        model(&[(0, "Open", 1, &[1]), (1, "Completed", 2, &[2]), (2, "Canceled", 3, &[3]), (3, "Scheduled", 4, &[4])])
    );
    for name in ["account", "contact", "transactioncurrency"] {
        assert_eq!(state_model(&s, name), model(&[(0, "Active", 1, &[1]), (1, "Inactive", 2, &[2])]), "{name}");
    }

    let lead = entity(&s, "lead");
    assert_eq!(lead.state_of_status(6).map(|st| st.name.as_str()), Some("Disqualified"));
    let label = s.option_label(lead.attribute("statuscode").unwrap(), 5).unwrap();
    assert_eq!(label.en, "Cannot Contact");
    let label = s.option_label(lead.attribute("statecode").unwrap(), 1).unwrap();
    assert_eq!(label.en, "Qualified");
    let task = entity(&s, "task");
    assert_eq!(s.option_label(task.attribute("statuscode").unwrap(), 4).unwrap().en, "Waiting on someone else");
}

#[test]
fn state_models_are_consistent() {
    let s = schema();
    for e in s.entities() {
        let mut seen = HashSet::new();
        for st in &e.def.states {
            assert!(
                st.statuses.iter().any(|x| x.value == st.default_status),
                "{}: default status {} of state {} is not one of its statuses",
                e.name(),
                st.default_status,
                st.name
            );
            for x in &st.statuses {
                assert!(seen.insert(x.value), "{}: status {} appears twice", e.name(), x.value);
            }
        }
        if e.has_state() {
            assert_eq!(e.attribute("statecode").map(|a| a.kind), Some(AttrKind::State), "{}", e.name());
            assert_eq!(e.attribute("statuscode").map(|a| a.kind), Some(AttrKind::Status), "{}", e.name());
        }
    }
    // Users, teams, roles, business units and parties have no state model in Dataverse.
    for name in ["systemuser", "team", "role", "businessunit", "organization", "activityparty", "annotation"] {
        assert!(!entity(&s, name).has_state(), "{name}");
    }
}

#[test]
fn every_referenced_option_set_exists() {
    let s = schema();
    for e in s.entities() {
        for a in e.attributes() {
            if a.kind.is_option() || a.kind == AttrKind::MultiSelectPicklist {
                let name = a.option_set.as_deref().unwrap_or_else(|| panic!("{}.{}: no option set", e.name(), a.name));
                let set =
                    s.option_set(name).unwrap_or_else(|| panic!("{}.{}: unknown option set {name}", e.name(), a.name));
                assert!(!set.options.is_empty(), "{}.{}: option set {name} is empty", e.name(), a.name);
                let mut values = HashSet::new();
                for o in &set.options {
                    assert!(values.insert(o.value), "option set {name}: value {} twice", o.value);
                }
                if let Some(default) = &a.default {
                    let v =
                        default.as_i64().unwrap_or_else(|| panic!("{}.{}: default is not a number", e.name(), a.name));
                    assert!(values.contains(&(v as i32)), "{}.{}: default {v} is not an option", e.name(), a.name);
                }
            }
        }
    }
    // Local sets are named <entity>_<attribute>; shared ones use Dataverse's global names.
    let account = entity(&s, "account");
    assert_eq!(account.attribute("industrycode").unwrap().option_set.as_deref(), Some("account_industrycode"));
    assert_eq!(entity(&s, "task").attribute("prioritycode").unwrap().option_set.as_deref(), Some("task_prioritycode"));
    for name in ["lead", "opportunity"] {
        let e = entity(&s, name);
        for (attr, set) in [
            ("budgetstatus", "budgetstatus"),
            ("purchasetimeframe", "purchasetimeframe"),
            ("purchaseprocess", "purchaseprocess"),
            ("need", "need"),
        ] {
            assert_eq!(e.attribute(attr).unwrap().option_set.as_deref(), Some(set), "{name}.{attr}");
            assert!(s.option_set(set).unwrap().is_global);
        }
    }
    let industry = s.option_set("account_industrycode").unwrap();
    assert_eq!(industry.options.len(), 33);
    assert_eq!(industry.label(7).unwrap().en, "Consulting");
    assert_eq!(s.option_set("lead_leadqualitycode").unwrap().label(1).unwrap().en, "Hot");
    let caltype = s.option_set("systemuser_caltype").unwrap();
    assert_eq!(caltype.label(0).unwrap().en, "Professional");
    assert_eq!(caltype.label(8).unwrap().en, "Device Enterprise");
    assert_eq!(s.option_set("team_teamtype").unwrap().label(1).unwrap().en, "Access");
    let mask = s.option_set("activityparty_participationtypemask").unwrap();
    assert_eq!(mask.label(2).unwrap().en, "To Recipient");
    assert_eq!(mask.label(11).unwrap().en, "Customer");
}

#[test]
fn activities_inherit_the_activity_columns() {
    let s = schema();
    let pointer = entity(&s, "activitypointer");
    let regarding_targets =
        HashSet::from(["account", "contact", "lead", "opportunity", "quote", "salesorder", "invoice"]);
    for name in
        ["task", "phonecall", "email", "appointment", "letter", "fax", "opportunityclose", "quoteclose", "orderclose"]
    {
        let e = entity(&s, name);
        for a in pointer.attributes() {
            assert!(e.attribute(&a.name).is_some(), "{name} lacks inherited column {}", a.name);
        }
        let regarding = e.attribute("regardingobjectid").unwrap();
        let targets: HashSet<&str> = regarding.targets.iter().map(|t| t.entity.as_str()).collect();
        assert_eq!(targets, regarding_targets, "{name}");
        assert!(e.attribute("ownerid").is_some(), "{name} is user-owned");
        assert_eq!(e.table(), "activitypointer", "{name}");
    }
    // The close date of an opportunity is a date, not the activity's date and time.
    assert!(entity(&s, "opportunityclose").attribute("actualend").unwrap().is_date_only());
    assert!(!pointer.attribute("actualend").unwrap().is_date_only());
    // Activity-specific overrides win over the inherited definition.
    assert_eq!(entity(&s, "task").attribute("subject").unwrap().max_length, Some(200));
    assert_eq!(entity(&s, "email").attribute("subject").unwrap().max_length, Some(800));
    assert_eq!(entity(&s, "email").attribute("subject").unwrap().required, RequiredLevel::None);
    assert_eq!(pointer.attribute("subject").unwrap().max_length, Some(400));
    assert_eq!(entity(&s, "task").attribute("prioritycode").unwrap().default, Some(serde_json::json!(1)));
}

#[test]
fn columns_carry_dataverse_types_and_limits() {
    let s = schema();
    let account = entity(&s, "account");
    let name = account.attribute("name").unwrap();
    assert_eq!((name.kind, name.max_length, name.required), (AttrKind::String, Some(160), RequiredLevel::Application));
    assert_eq!(account.attribute("websiteurl").unwrap().format.as_deref(), Some("Url"));
    assert_eq!(account.attribute("emailaddress1").unwrap().format.as_deref(), Some("Email"));
    assert_eq!(account.attribute("telephone1").unwrap().max_length, Some(50));
    assert_eq!(account.attribute("address1_latitude").unwrap().kind, AttrKind::Double);
    let revenue = account.attribute("revenue").unwrap();
    assert_eq!(revenue.kind, AttrKind::Money);
    assert_eq!(revenue.base_of.as_deref(), Some("revenue_base"));
    let rate = account.attribute("exchangerate").unwrap();
    assert_eq!((rate.kind, rate.precision), (AttrKind::Decimal, Some(10)));
    assert_eq!(rate.min, Some("0.0000000001".parse().unwrap()));
    assert_eq!(rate.max, Some(rust_decimal::Decimal::from(100_000_000_000i64)));
    let lat = account.attribute("address1_latitude").unwrap();
    assert_eq!((lat.min, lat.max), (Some((-90).into()), Some(90.into())));

    let contact = entity(&s, "contact");
    assert!(contact.attribute("fullname").unwrap().read_only);
    assert_eq!(contact.attribute("lastname").unwrap().required, RequiredLevel::Application);
    assert!(contact.attribute("birthdate").unwrap().is_date_only());
    let parent = contact.attribute("parentcustomerid").unwrap();
    assert_eq!(parent.kind, AttrKind::Customer);
    assert!(parent.is_polymorphic());
    assert_eq!(parent.target("account").unwrap().delete, CascadeDelete::Cascade);

    let lead = entity(&s, "lead");
    assert_eq!(lead.attribute("subject").unwrap().required, RequiredLevel::Application);
    assert!(lead.attribute("estimatedclosedate").unwrap().is_date_only());
    let opp = entity(&s, "opportunity");
    let prob = opp.attribute("closeprobability").unwrap();
    assert_eq!((prob.kind, prob.min, prob.max), (AttrKind::Integer, Some(0.into()), Some(100.into())));
    assert_eq!(opp.attribute("isrevenuesystemcalculated").unwrap().kind, AttrKind::Boolean);
    assert_eq!(entity(&s, "activitypointer").attribute("activitytypecode").unwrap().kind, AttrKind::EntityName);
    assert_eq!(entity(&s, "annotation").attribute("documentbody").unwrap().kind, AttrKind::File);
    assert_eq!(entity(&s, "transactioncurrency").attribute("exchangerate").unwrap().kind, AttrKind::Decimal);
    assert!(entity(&s, "systemuser").attribute("fullname").unwrap().read_only);
    assert!(entity(&s, "systemuser").attribute("ownerid").is_none(), "users are not user-owned");
}

#[test]
fn money_columns_have_base_twins() {
    let s = schema();
    let mut twins = 0;
    for e in s.entities() {
        for a in e.attributes().iter().filter(|a| a.base_of.is_some()) {
            let base_name = a.base_of.as_deref().unwrap();
            assert_eq!(a.kind, AttrKind::Money, "{}.{}", e.name(), a.name);
            assert_eq!(base_name, format!("{}_base", a.name), "{}.{}", e.name(), a.name);
            let base = e.attribute(base_name).unwrap_or_else(|| panic!("{}.{base_name} missing", e.name()));
            assert_eq!(base.kind, AttrKind::Money);
            assert!(base.read_only && !base.valid_for_create && !base.valid_for_update, "{}.{base_name}", e.name());
            twins += 1;
        }
        // Every *_base money column is the twin of something.
        for a in e.attributes().iter().filter(|a| a.kind == AttrKind::Money && a.name.ends_with("_base")) {
            let source = a.name.trim_end_matches("_base");
            assert_eq!(
                e.attribute(source).and_then(|x| x.base_of.as_deref()),
                Some(a.name.as_str()),
                "{}.{} has no source column",
                e.name(),
                a.name
            );
        }
        // Money needs a currency.
        if e.attributes().iter().any(|a| a.kind == AttrKind::Money) {
            assert!(e.attribute("transactioncurrencyid").is_some(), "{} has money but no currency", e.name());
            assert!(e.attribute("exchangerate").is_some(), "{} has money but no exchange rate", e.name());
        }
    }
    assert!(twins >= 70, "only {twins} money columns with base twins");
}

#[test]
fn relationship_and_navigation_names_are_unique() {
    let s = schema();
    let mut names = HashSet::new();
    for r in s.one_to_many() {
        assert!(names.insert(r.name.as_str()), "relationship {} is defined twice", r.name);
        assert!(s.entity(&r.referenced_entity).is_some(), "{}: unknown entity {}", r.name, r.referenced_entity);
    }
    for m in s.many_to_many() {
        assert!(names.insert(m.name.as_str()), "relationship {} is defined twice", m.name);
    }
    // A navigation property name must mean one thing per entity.
    let mut per_entity: HashMap<&str, HashSet<&str>> = HashMap::new();
    for r in s.one_to_many() {
        assert!(
            per_entity.entry(r.referencing_entity.as_str()).or_default().insert(r.referencing_nav.as_str()),
            "{}.{} is used by two relationships",
            r.referencing_entity,
            r.referencing_nav
        );
    }
    for r in s.one_to_many() {
        assert!(
            per_entity.entry(r.referenced_entity.as_str()).or_default().insert(r.referenced_nav.as_str()),
            "{}.{} is used by two relationships",
            r.referenced_entity,
            r.referenced_nav
        );
    }
}

#[test]
fn labels_are_bilingual() {
    let s = schema();
    for e in s.entities() {
        assert!(e.def.label.ru.is_some() && e.def.plural_label.ru.is_some(), "{}: Russian entity label", e.name());
        for st in &e.def.states {
            assert!(st.label.ru.is_some(), "{}: state {}", e.name(), st.name);
            for x in &st.statuses {
                assert!(x.label.ru.is_some(), "{}: status {}", e.name(), x.value);
            }
        }
        for a in e.attributes() {
            if a.name != e.primary_id() && a.name != "versionnumber" {
                assert!(!a.label.en.is_empty() && a.label.ru.is_some(), "{}.{}: bilingual label", e.name(), a.name);
            }
            if matches!(a.kind, AttrKind::String | AttrKind::Memo) {
                assert!(a.max_length.is_some(), "{}.{}: max_length", e.name(), a.name);
            }
        }
    }
    for set in s.option_sets() {
        for o in &set.options {
            assert!(o.label.ru.is_some(), "option set {}: value {} lacks a Russian label", set.name, o.value);
        }
    }
    assert_eq!(entity(&s, "account").attribute("name").unwrap().label.text(1049), "Название организации");
}

#[test]
fn object_type_codes_are_unique() {
    let s = schema();
    let mut seen = HashMap::new();
    for e in s.entities() {
        assert_ne!(e.def.object_type_code, 0, "{}: object type code", e.name());
        if let Some(other) = seen.insert(e.def.object_type_code, e.name().to_string()) {
            panic!("object type code {} used by {} and {}", e.def.object_type_code, other, e.name());
        }
    }
}

#[test]
fn sales_entities_have_dataverse_entity_sets_and_keys() {
    let s = schema();
    let expected = [
        // (logical name, entity set, primary id, primary name, object type code, ownership)
        ("uomschedule", "uomschedules", "uomscheduleid", "name", 1056, Ownership::Organization),
        ("uom", "uoms", "uomid", "name", 1055, Ownership::Organization),
        ("product", "products", "productid", "name", 1024, Ownership::Organization),
        ("productassociation", "productassociations", "productassociationid", "productid", 1025, Ownership::None),
        ("pricelevel", "pricelevels", "pricelevelid", "name", 1022, Ownership::Organization),
        ("productpricelevel", "productpricelevels", "productpricelevelid", "productnumber", 1026, Ownership::None),
        ("discounttype", "discounttypes", "discounttypeid", "name", 1080, Ownership::Organization),
        ("discount", "discounts", "discountid", "name", 1013, Ownership::None),
        ("competitor", "competitors", "competitorid", "name", 123, Ownership::Organization),
        ("salesliterature", "salesliteratures", "salesliteratureid", "name", 1038, Ownership::Organization),
        ("salesliteratureitem", "salesliteratureitems", "salesliteratureitemid", "title", 1070, Ownership::None),
        ("quote", "quotes", "quoteid", "name", 1084, Ownership::User),
        ("salesorder", "salesorders", "salesorderid", "name", 1088, Ownership::User),
        ("invoice", "invoices", "invoiceid", "name", 1090, Ownership::User),
        (
            "opportunityproduct",
            "opportunityproducts",
            "opportunityproductid",
            "opportunityproductname",
            1083,
            Ownership::None,
        ),
        ("quotedetail", "quotedetails", "quotedetailid", "quotedetailname", 1085, Ownership::None),
        ("salesorderdetail", "salesorderdetails", "salesorderdetailid", "salesorderdetailname", 1089, Ownership::None),
        ("invoicedetail", "invoicedetails", "invoicedetailid", "invoicedetailname", 1091, Ownership::None),
        ("relata_payment", "relata_payments", "relata_paymentid", "relata_name", 10000, Ownership::None),
        ("opportunityclose", "opportunitycloses", "activityid", "subject", 4208, Ownership::User),
        ("quoteclose", "quotecloses", "activityid", "subject", 4211, Ownership::User),
        ("orderclose", "ordercloses", "activityid", "subject", 4209, Ownership::User),
        ("workflow", "workflows", "workflowid", "name", 4703, Ownership::Organization),
        ("processstage", "processstages", "processstageid", "stagename", 4724, Ownership::None),
        ("documenttemplate", "documenttemplates", "documenttemplateid", "name", 9940, Ownership::Organization),
    ];
    for (name, set, id, primary_name, otc, ownership) in expected {
        let e = entity(&s, name);
        assert_eq!(e.def.entity_set, set, "{name}: entity set");
        assert_eq!(e.primary_id(), id, "{name}: primary id");
        assert_eq!(e.def.primary_name, primary_name, "{name}: primary name");
        assert!(e.attribute(primary_name).is_some(), "{name}: primary name attribute");
        assert_eq!(e.def.object_type_code, otc, "{name}: object type code");
        assert_eq!(e.def.ownership, ownership, "{name}: ownership");
        assert_eq!(s.entity_by_set(set).map(|e| e.name()), Some(name), "{name}: entity set index");
        let group = if matches!(name, "workflow" | "processstage" | "documenttemplate") {
            LicenseGroup::Settings
        } else if e.def.is_activity {
            LicenseGroup::Activities
        } else {
            LicenseGroup::Sales
        };
        assert_eq!(e.license_group(), group, "{name}: license group");
    }
    // Relata's own entities and columns carry the prefix; Dataverse's do not.
    for e in s.entities() {
        if e.def.object_type_code >= 10000 {
            assert!(e.name().starts_with("relata_"), "{}: Relata entity without prefix", e.name());
        }
    }
    for (name, set, id, otc) in [
        ("opportunitycompetitors", "opportunitycompetitorscollection", "opportunitycompetitorid", 25),
        ("competitorsalesliterature", "competitorsalesliteratures", "competitorsalesliteratureid", 26),
        ("productsalesliterature", "productsalesliteratures", "productsalesliteratureid", 21),
        ("competitorproduct", "competitorproducts", "competitorproductid", 1006),
        ("relata_quote_competitor", "relata_quote_competitorset", "relata_quote_competitorid", 10001),
        ("relata_salesorder_competitor", "relata_salesorder_competitorset", "relata_salesorder_competitorid", 10003),
        ("relata_invoice_competitor", "relata_invoice_competitorset", "relata_invoice_competitorid", 10005),
    ] {
        let e = entity(&s, name);
        assert!(e.def.is_intersect, "{name} is an intersect entity");
        assert_eq!((e.def.entity_set.as_str(), e.primary_id(), e.def.object_type_code), (set, id, otc), "{name}");
        assert!(s.entity_by_set(set).is_none(), "intersect '{name}' has no API surface");
    }
}

#[test]
fn sales_state_models_match_dataverse() {
    let s = schema();
    assert_eq!(state_model(&s, "uomschedule"), model(&[(0, "Active", 1, &[1]), (1, "Inactive", 2, &[2])]));
    for name in ["pricelevel", "discounttype"] {
        assert_eq!(
            state_model(&s, name),
            model(&[(0, "Active", 100001, &[100001]), (1, "Inactive", 100002, &[100002])]),
            "{name}"
        );
    }
    assert_eq!(
        state_model(&s, "product"),
        model(&[
            (0, "Active", 1, &[1]),
            (1, "Inactive", 2, &[2]),
            (2, "Draft", 0, &[0]),
            (3, "Under Revision", 3, &[3])
        ])
    );
    let product = entity(&s, "product");
    assert_eq!(s.option_label(product.attribute("statuscode").unwrap(), 2).unwrap().en, "Retired");
    assert_eq!(
        state_model(&s, "quote"),
        model(&[(0, "Draft", 1, &[1]), (1, "Active", 2, &[2, 3]), (2, "Won", 4, &[4]), (3, "Closed", 7, &[5, 6, 7])])
    );
    assert_eq!(
        state_model(&s, "salesorder"),
        model(&[
            (0, "Active", 1, &[1, 2]),
            (1, "Submitted", 3, &[3]),
            (2, "Canceled", 4, &[4]),
            (3, "Fulfilled", 100001, &[100001, 100002]),
            (4, "Invoiced", 100003, &[100003])
        ])
    );
    assert_eq!(
        state_model(&s, "invoice"),
        model(&[
            (0, "Active", 1, &[1, 2, 4, 5, 6]),
            (1, "Closed", 3, &[3, 7]),
            (2, "Paid", 100001, &[100001, 100002]),
            (3, "Canceled", 100003, &[100003])
        ])
    );
    for name in ["opportunityclose", "quoteclose", "orderclose"] {
        assert_eq!(
            state_model(&s, name),
            model(&[(0, "Open", 1, &[1]), (1, "Completed", 2, &[2]), (2, "Canceled", 3, &[3])]),
            "{name}"
        );
    }
    assert_eq!(state_model(&s, "workflow"), model(&[(0, "Draft", 1, &[1]), (1, "Activated", 2, &[2])]));
    let invoice = entity(&s, "invoice");
    assert_eq!(s.option_label(invoice.attribute("statuscode").unwrap(), 7).unwrap().en, "Paid in Full (deprecated)");
    // Catalog children, lines, payments, stages and templates have no state model.
    for name in [
        "uom",
        "productassociation",
        "productpricelevel",
        "discount",
        "competitor",
        "salesliterature",
        "salesliteratureitem",
        "opportunityproduct",
        "quotedetail",
        "salesorderdetail",
        "invoicedetail",
        "relata_payment",
        "processstage",
        "documenttemplate",
    ] {
        assert!(!entity(&s, name).has_state(), "{name}");
    }
}

#[test]
fn sales_navigation_properties_resolve() {
    let s = schema();
    // Documents and their lines.
    assert_collection(&s, "quote", "quote_details", "quotedetail", "quoteid");
    assert_single(&s, "quotedetail", "quoteid", "quoteid", "quote", "quote_details");
    assert_collection(&s, "salesorder", "order_details", "salesorderdetail", "salesorderid");
    assert_single(&s, "salesorderdetail", "salesorderid", "salesorderid", "salesorder", "order_details");
    assert_collection(&s, "invoice", "invoice_details", "invoicedetail", "invoiceid");
    assert_single(&s, "invoicedetail", "invoiceid", "invoiceid", "invoice", "invoice_details");
    assert_collection(&s, "opportunity", "product_opportunities", "opportunityproduct", "opportunityid");
    assert_single(&s, "opportunityproduct", "opportunityid", "opportunityid", "opportunity", "product_opportunities");
    assert_collection(&s, "product", "opportunity_products", "opportunityproduct", "productid");
    assert_collection(&s, "product", "product_quote_details", "quotedetail", "productid");
    assert_collection(&s, "product", "product_order_details", "salesorderdetail", "productid");
    assert_collection(&s, "product", "product_invoice_details", "invoicedetail", "productid");
    assert_collection(&s, "uom", "unit_of_measurement_quote_details", "quotedetail", "uomid");
    assert_collection(&s, "uom", "unit_of_measurement_order_details", "salesorderdetail", "uomid");
    assert_collection(
        &s,
        "salesorderdetail",
        "msdyn_salesorderdetail_invoicedetail",
        "invoicedetail",
        "salesorderdetailid",
    );
    assert_single(
        &s,
        "invoicedetail",
        "SalesOrderDetailId",
        "salesorderdetailid",
        "salesorderdetail",
        "msdyn_salesorderdetail_invoicedetail",
    );

    // Document chain and customers.
    assert_collection(&s, "opportunity", "opportunity_quotes", "quote", "opportunityid");
    assert_collection(&s, "opportunity", "opportunity_sales_orders", "salesorder", "opportunityid");
    assert_collection(&s, "opportunity", "opportunity_invoices", "invoice", "opportunityid");
    assert_collection(&s, "quote", "quote_orders", "salesorder", "quoteid");
    assert_collection(&s, "salesorder", "order_invoices", "invoice", "salesorderid");
    assert_single(&s, "quote", "customerid_account", "customerid", "account", "quote_customer_accounts");
    assert_single(&s, "salesorder", "customerid_contact", "customerid", "contact", "order_customer_contacts");
    assert_collection(&s, "account", "invoice_customer_accounts", "invoice", "customerid");
    assert_single(&s, "quote", "pricelevelid", "pricelevelid", "pricelevel", "price_level_quotes");
    assert_collection(&s, "pricelevel", "price_level_orders", "salesorder", "pricelevelid");
    assert_collection(&s, "pricelevel", "price_level_invoices", "invoice", "pricelevelid");
    assert_collection(&s, "pricelevel", "price_level_opportunties", "opportunity", "pricelevelid");
    assert_single(
        &s,
        "quote",
        "transactioncurrencyid",
        "transactioncurrencyid",
        "transactioncurrency",
        "transactioncurrency_quote",
    );
    assert_collection(
        &s,
        "transactioncurrency",
        "transactioncurrency_quotedetail",
        "quotedetail",
        "transactioncurrencyid",
    );

    // Catalog.
    assert_collection(&s, "product", "product_price_levels", "productpricelevel", "productid");
    assert_collection(&s, "pricelevel", "price_level_product_price_levels", "productpricelevel", "pricelevelid");
    assert_collection(&s, "pricelevel", "price_level_products", "product", "pricelevelid");
    assert_collection(&s, "uomschedule", "unit_of_measure_schedule_conversions", "uom", "uomscheduleid");
    assert_collection(&s, "uomschedule", "unit_of_measurement_schedule_products", "product", "defaultuomscheduleid");
    assert_collection(&s, "uom", "unit_of_measurement_base_unit", "uom", "baseuom");
    assert_collection(&s, "uom", "unit_of_measurement_products", "product", "defaultuomid");
    assert_collection(&s, "uom", "unit_of_measurement_product_price_levels", "productpricelevel", "uomid");
    assert_collection(&s, "product", "product_parent_product", "product", "parentproductid");
    assert_collection(&s, "product", "Product_ProductAssociation_Prod", "productassociation", "productid");
    assert_collection(&s, "product", "Product_ProductAssociation_AssocProd", "productassociation", "associatedproduct");
    assert_collection(&s, "discounttype", "discount_type_discounts", "discount", "discounttypeid");
    assert_collection(&s, "discounttype", "discount_type_product_price_levels", "productpricelevel", "discounttypeid");

    // Competitors, literature, closes, payments, processes.
    assert_collection(&s, "salesliterature", "sales_literature_items", "salesliteratureitem", "salesliteratureid");
    assert_collection(&s, "systemuser", "system_user_sales_literature", "salesliterature", "employeecontactid");
    assert_collection(&s, "opportunity", "Opportunity_OpportunityClose", "opportunityclose", "opportunityid");
    assert_collection(&s, "competitor", "competitor_opportunity_activities", "opportunityclose", "competitorid");
    assert_collection(&s, "quote", "Quote_QuoteClose", "quoteclose", "quoteid");
    assert_collection(&s, "salesorder", "SalesOrder_OrderClose", "orderclose", "salesorderid");
    assert_collection(&s, "invoice", "relata_invoice_payments", "relata_payment", "relata_invoiceid");
    assert_single(&s, "relata_payment", "relata_invoiceid", "relata_invoiceid", "invoice", "relata_invoice_payments");
    assert_collection(&s, "workflow", "process_processstage", "processstage", "processid");

    // Documents take notes and activities like the other sales records.
    assert_collection(&s, "quote", "Quote_Annotation", "annotation", "objectid");
    assert_collection(&s, "salesorder", "SalesOrder_Tasks", "task", "regardingobjectid");
    assert_collection(&s, "invoice", "Invoice_Emails", "email", "regardingobjectid");

    // Many-to-many.
    assert_many_to_many(
        &s,
        "opportunity",
        "opportunitycompetitors_association",
        "competitor",
        "opportunitycompetitors",
        "opportunityid",
        "competitorid",
    );
    assert_many_to_many(
        &s,
        "competitor",
        "competitorsalesliterature_association",
        "salesliterature",
        "competitorsalesliterature",
        "competitorid",
        "salesliteratureid",
    );
    assert_many_to_many(
        &s,
        "product",
        "productsalesliterature_association",
        "salesliterature",
        "productsalesliterature",
        "productid",
        "salesliteratureid",
    );
    assert_many_to_many(
        &s,
        "product",
        "competitorproduct_association",
        "competitor",
        "competitorproduct",
        "productid",
        "competitorid",
    );
    for (doc, id) in [("quote", "quoteid"), ("salesorder", "salesorderid"), ("invoice", "invoiceid")] {
        let rel = format!("relata_{doc}_competitor");
        assert_many_to_many(&s, doc, &rel, "competitor", &rel, id, "competitorid");
        assert_many_to_many(&s, "competitor", &rel, doc, &rel, "competitorid", id);
        let rel = format!("relata_{doc}_salesliterature");
        assert_many_to_many(&s, "salesliterature", &rel, doc, &rel, "salesliteratureid", id);
    }
    assert_many_to_many(
        &s,
        "opportunity",
        "relata_opportunity_salesliterature",
        "salesliterature",
        "relata_opportunity_salesliterature",
        "opportunityid",
        "salesliteratureid",
    );
}

/// The lookup the query planner takes as an unowned record's parent: the
/// first one whose targets all delete the record in cascade.
fn parent_lookup(e: &Entity) -> Option<&AttributeDef> {
    e.attributes().iter().find(|a| {
        a.kind.is_lookup() && !a.targets.is_empty() && a.targets.iter().all(|t| t.delete == CascadeDelete::Cascade)
    })
}

#[test]
fn unowned_children_are_read_through_their_parent() {
    let s = schema();
    for (child, attribute, parent) in [
        ("opportunityproduct", "opportunityid", "opportunity"),
        ("quotedetail", "quoteid", "quote"),
        ("salesorderdetail", "salesorderid", "salesorder"),
        ("invoicedetail", "invoiceid", "invoice"),
        ("productpricelevel", "pricelevelid", "pricelevel"),
        ("discount", "discounttypeid", "discounttype"),
        ("relata_payment", "relata_invoiceid", "invoice"),
        ("processstage", "processid", "workflow"),
        ("salesliteratureitem", "salesliteratureid", "salesliterature"),
        ("productassociation", "productid", "product"),
    ] {
        let e = entity(&s, child);
        assert_eq!(e.def.ownership, Ownership::None, "{child}");
        assert!(!e.has_privileges(), "{child} has no privileges of its own");
        let lookup = parent_lookup(e).unwrap_or_else(|| panic!("{child}: no parent lookup"));
        assert_eq!(lookup.name, attribute, "{child}: parent lookup");
        let targets: Vec<&str> = lookup.targets.iter().map(|t| t.entity.as_str()).collect();
        assert_eq!(targets, [parent], "{child}: parent entity");
        assert_eq!(lookup.required, RequiredLevel::System, "{child}.{attribute}");
        assert!(!lookup.valid_for_update, "{child}.{attribute}: a record stays with its parent");
    }
    // A line's product and unit must survive neither as parent nor by cascade.
    for line in ["opportunityproduct", "quotedetail", "salesorderdetail", "invoicedetail"] {
        let e = entity(&s, line);
        for attribute in ["productid", "uomid", "transactioncurrencyid"] {
            let a = e.attribute(attribute).unwrap_or_else(|| panic!("{line}.{attribute}"));
            assert_eq!(a.targets.len(), 1);
            assert_eq!(a.targets[0].delete, CascadeDelete::Restrict, "{line}.{attribute}");
        }
        for attribute in ["transactioncurrencyid", "exchangerate"] {
            assert!(e.attribute(attribute).unwrap().read_only, "{line}.{attribute} follows the document");
        }
    }
}

#[test]
fn documents_and_lines_share_their_group_columns() {
    let s = schema();
    let (quote, order, invoice) = (entity(&s, "quote"), entity(&s, "salesorder"), entity(&s, "invoice"));
    let shape = |e: &Entity, name: &str| {
        let a = e.attribute(name).unwrap_or_else(|| panic!("{}.{name} missing", e.name()));
        (a.kind, a.max_length, a.precision, a.required, a.read_only, a.base_of.clone(), a.targets.len())
    };
    let document_columns = [
        "name",
        "customerid",
        "pricelevelid",
        "opportunityid",
        "transactioncurrencyid",
        "exchangerate",
        "ispricelocked",
        "discountpercentage",
        "discountamount",
        "freightamount",
        "totallineitemamount",
        "totallineitemdiscountamount",
        "totaldiscountamount",
        "totalamountlessfreight",
        "totaltax",
        "totalamount",
        "paymenttermscode",
        "shippingmethodcode",
        "freighttermscode",
        "requestdeliveryby",
        "billto_name",
        "billto_line1",
        "billto_line3",
        "billto_country",
        "billto_fax",
        "shipto_name",
        "shipto_city",
        "shipto_telephone",
        "willcall",
        "description",
    ];
    for column in document_columns {
        assert_eq!(shape(quote, column), shape(order, column), "salesorder.{column}");
        assert_eq!(shape(quote, column), shape(invoice, column), "invoice.{column}");
    }
    for column in ["totallineitemamount", "totaldiscountamount", "totalamountlessfreight", "totaltax", "totalamount"] {
        let a = quote.attribute(column).unwrap();
        assert!(a.read_only && !a.valid_for_create && !a.valid_for_update, "{column} is computed");
    }
    // Local option sets are per entity, even when the options come from a group.
    assert_eq!(order.attribute("paymenttermscode").unwrap().option_set.as_deref(), Some("salesorder_paymenttermscode"));
    assert_eq!(s.option_set("invoice_shippingmethodcode").unwrap().label(7).unwrap().en, "Will Call");
    // Own columns come first and override the group.
    assert_eq!(quote.attributes()[1].name, "quotenumber");
    assert_eq!(quote.attribute("opportunityid").unwrap().targets[0].delete, CascadeDelete::Cascade);
    assert_eq!(order.attribute("opportunityid").unwrap().targets[0].delete, CascadeDelete::Restrict);
    // Placeholders and overrides name the relationships.
    let rel = |e: &Entity, a: &str, target: &str| e.attribute(a).unwrap().target(target).unwrap().relationship.clone();
    assert_eq!(rel(quote, "pricelevelid", "pricelevel"), "price_level_quotes");
    assert_eq!(rel(order, "pricelevelid", "pricelevel"), "price_level_orders");
    assert_eq!(rel(invoice, "opportunityid", "opportunity"), "opportunity_invoices");
    assert_eq!(rel(order, "opportunityid", "opportunity"), "opportunity_sales_orders");
    assert_eq!(rel(order, "customerid", "account"), "order_customer_accounts");
    assert_eq!(rel(invoice, "customerid", "contact"), "invoice_customer_contacts");

    let lines = ["opportunityproduct", "quotedetail", "salesorderdetail", "invoicedetail"].map(|n| entity(&s, n));
    let line_columns = [
        "productid",
        "uomid",
        "isproductoverridden",
        "productdescription",
        "ispriceoverridden",
        "priceperunit",
        "quantity",
        "baseamount",
        "volumediscountamount",
        "manualdiscountamount",
        "tax",
        "extendedamount",
        "lineitemnumber",
        "sequencenumber",
        "description",
        "producttypecode",
        "pricingerrorcode",
        "relata_taxrate",
        "transactioncurrencyid",
        "exchangerate",
    ];
    for line in &lines[1..] {
        for column in line_columns {
            assert_eq!(shape(lines[0], column), shape(line, column), "{}.{column}", line.name());
        }
    }
    let quantity = lines[1].attribute("quantity").unwrap();
    assert_eq!((quantity.precision, quantity.required), (Some(5), RequiredLevel::Application));
    assert_eq!(rel(lines[0], "productid", "product"), "opportunity_products");
    assert_eq!(rel(lines[2], "uomid", "uom"), "unit_of_measurement_order_details");
    let error = s.option_set("quotedetail_pricingerrorcode").unwrap();
    assert_eq!(error.options.len(), 39);
    assert_eq!(error.label(11).unwrap().en, "Product Not In Price Level");
}

#[test]
fn missing_base_twins_are_generated() {
    let s = schema();
    let quote = entity(&s, "quote");
    let source = quote.attribute("totalamount").unwrap();
    let twin = quote.attribute("totalamount_base").expect("generated twin");
    assert_eq!(twin.kind, AttrKind::Money);
    assert_eq!(twin.schema_name, "TotalAmount_Base");
    assert_eq!(twin.label.en, "Total Amount (Base)");
    assert_eq!(twin.label.ru.as_deref(), Some("Общая сумма (базовая валюта)"));
    assert_eq!(twin.precision, Some(4));
    assert_eq!((twin.min, twin.max), (Some(-money_limit()), Some(money_limit())));
    assert!(twin.read_only && !twin.valid_for_create && !twin.valid_for_update);
    assert!(twin.base_of.is_none());
    assert_eq!(source.base_of.as_deref(), Some("totalamount_base"));
    // Right after its source column.
    let position = |name: &str| quote.attributes().iter().position(|a| a.name == name).unwrap();
    assert_eq!(position("totalamount_base"), position("totalamount") + 1);
    for (e, column) in [
        ("product", "price_base"),
        ("productpricelevel", "amount_base"),
        ("quotedetail", "extendedamount_base"),
        ("invoice", "relata_amountdue_base"),
        ("relata_payment", "relata_amount_base"),
        ("opportunityclose", "actualrevenue_base"),
        ("opportunity", "totalamountlessfreight_base"),
    ] {
        assert!(entity(&s, e).attribute(column).is_some(), "{e}.{column}");
    }
    // Declared twins stay as they are.
    let declared = entity(&s, "opportunity").attribute("estimatedvalue_base").unwrap();
    assert_eq!(declared.label.en, "Est. Revenue (Base)");
    assert!(declared.description.is_none());

    // Custom entities get twins too, secured with their source.
    let mut amount = AttributeDef::new("new_amount", AttrKind::Money, "Amount");
    amount.schema_name = "new_Amount".into();
    amount.base_of = Some("new_amount_base".into());
    amount.secured = true;
    amount.is_custom = true;
    let def = EntityDef {
        name: "new_thing".into(),
        entity_set: "new_things".into(),
        label: Label::new("Thing"),
        plural_label: Label::new("Things"),
        primary_id: "new_thingid".into(),
        primary_name: "new_amount".into(),
        is_custom: true,
        object_type_code: 10500,
        attributes: vec![amount],
        ..Default::default()
    };
    let (mut defs, sets) = definitions();
    defs.push(def);
    let s = Schema::build(defs, sets).unwrap();
    let twin = entity(&s, "new_thing").attribute("new_amount_base").unwrap();
    assert!(twin.secured && twin.is_custom && twin.read_only);
    assert_eq!((twin.schema_name.as_str(), twin.label.ru.as_deref()), ("new_Amount_Base", None));
}

#[test]
fn sales_columns_carry_dataverse_types_and_limits() {
    let s = schema();
    let product = entity(&s, "product");
    let decimals = product.attribute("quantitydecimal").unwrap();
    assert_eq!((decimals.kind, decimals.min, decimals.max), (AttrKind::Integer, Some(0.into()), Some(5.into())));
    assert_eq!(decimals.default, Some(serde_json::json!(2)));
    assert_eq!(product.attribute("productstructure").unwrap().default, Some(serde_json::json!(1)));
    assert!(product.attribute("validfromdate").unwrap().is_date_only());
    assert_eq!(s.option_set("product_producttypecode").unwrap().label(4).unwrap().en, "Flat Fees");
    let tax = product.attribute("relata_taxrate").unwrap();
    assert_eq!((tax.precision, tax.min, tax.max), (Some(2), Some(0.into()), Some(100.into())));

    let item = entity(&s, "productpricelevel");
    assert_eq!(item.attribute("pricingmethodcode").unwrap().default, Some(serde_json::json!(1)));
    assert_eq!(s.option_set("productpricelevel_pricingmethodcode").unwrap().options.len(), 6);
    assert_eq!(s.option_set("productpricelevel_roundingpolicycode").unwrap().label(4).unwrap().en, "To Nearest");
    assert!(item.attribute("productnumber").unwrap().read_only);
    let uom = entity(&s, "uom");
    let quantity = uom.attribute("quantity").unwrap();
    assert_eq!((quantity.precision, quantity.min), (Some(5), Some("0.00001".parse().unwrap())));
    assert_eq!(
        s.option_set("salesliterature_literaturetypecode").unwrap().label(100001).unwrap().en,
        "Marketing Collateral"
    );
    assert_eq!(entity(&s, "salesliteratureitem").attribute("documentbody").unwrap().kind, AttrKind::File);

    let payment = entity(&s, "relata_payment");
    let amount = payment.attribute("relata_amount").unwrap();
    assert_eq!(
        (amount.kind, amount.min, amount.required),
        (AttrKind::Money, Some("0.01".parse().unwrap()), RequiredLevel::System)
    );
    assert!(payment.attribute("relata_paidon").unwrap().is_date_only());
    assert_eq!(s.option_set("relata_payment_relata_paymentmethod").unwrap().label(1).unwrap().en, "Bank Transfer");
    let invoice = entity(&s, "invoice");
    for column in ["relata_amountpaid", "relata_amountdue", "relata_paidon"] {
        assert!(invoice.attribute(column).unwrap().read_only, "invoice.{column}");
    }

    let opportunity = entity(&s, "opportunity");
    for column in ["totallineitemamount", "totaltax", "totalamount", "totaldiscountamount", "totalamountlessfreight"] {
        let a = opportunity.attribute(column).unwrap();
        assert!(a.read_only && !a.valid_for_create && !a.valid_for_update, "opportunity.{column} is computed");
    }
    for column in ["processid", "stageid"] {
        assert_eq!(opportunity.attribute(column).unwrap().kind, AttrKind::Uniqueidentifier, "opportunity.{column}");
    }
    assert!(opportunity.attribute("salesstage").is_some());

    assert_eq!(entity(&s, "workflow").attribute("primaryentity").unwrap().kind, AttrKind::EntityName);
    assert_eq!(s.option_set("workflow_category").unwrap().label(4).unwrap().en, "Business Process Flow");
    assert_eq!(s.option_set("processstage_stagecategory").unwrap().label(7).unwrap().en, "Approval");
    let template = entity(&s, "documenttemplate");
    assert_eq!(template.attribute("content").unwrap().max_length, Some(1_048_576));
    assert_eq!(template.attribute("status").unwrap().default, Some(serde_json::json!(false)));
    assert_eq!(s.option_set("documenttemplate_documenttype").unwrap().label(3).unwrap().en, "Print Layout");

    let organization = entity(&s, "organization");
    let precision = organization.attribute("pricingdecimalprecision").unwrap();
    assert_eq!(
        (precision.min, precision.max, precision.default.clone()),
        (Some(0.into()), Some(4.into()), Some(serde_json::json!(2)))
    );
    for (column, length) in [
        ("relata_legalname", 250),
        ("relata_inn", 12),
        ("relata_kpp", 9),
        ("relata_ogrn", 15),
        ("relata_vatnumber", 30),
        ("relata_address", 500),
        ("relata_bankname", 200),
        ("relata_bankbic", 20),
        ("relata_bankaccount", 34),
        ("relata_correspondentaccount", 20),
        ("relata_swift", 11),
        ("relata_director", 100),
        ("relata_accountant", 100),
    ] {
        assert_eq!(organization.attribute(column).unwrap().max_length, Some(length), "organization.{column}");
    }
    for (e, column, length) in [
        ("account", "relata_inn", 12),
        ("account", "relata_kpp", 9),
        ("account", "relata_vatnumber", 30),
        ("contact", "relata_inn", 12),
        ("contact", "relata_vatnumber", 30),
    ] {
        assert_eq!(entity(&s, e).attribute(column).unwrap().max_length, Some(length), "{e}.{column}");
    }
    assert!(entity(&s, "contact").attribute("relata_kpp").is_none());
    // What lead qualification relies on.
    for column in ["qualifyingopportunityid", "parentaccountid", "parentcontactid"] {
        assert!(entity(&s, "lead").attribute(column).is_some(), "lead.{column}");
    }
}

/// Standard forms name real columns (or party lists), each once, and the
/// main entities have one with their primary name on its first tab.
#[test]
fn standard_forms_name_real_columns() {
    let s = schema();
    for e in s.entities() {
        let mut seen = HashSet::new();
        for tab in &e.def.form {
            for sec in &tab.sections {
                for f in &sec.fields {
                    let known = e.attribute(f).is_some() || e.def.parties.iter().any(|p| &p.name == f);
                    assert!(known, "{}: form field '{f}' is neither a column nor a party list", e.name());
                    assert!(seen.insert(f.clone()), "{}: '{f}' is on the form twice", e.name());
                }
            }
        }
    }
    for name in ["account", "contact", "lead", "opportunity", "quote", "salesorder", "invoice", "product", "phonecall"]
    {
        let e = entity(&s, name);
        let first = e.def.form.first().unwrap_or_else(|| panic!("{name} has no standard form"));
        let primary = &e.def.primary_name;
        let on_first = first.sections.iter().any(|sec| sec.fields.contains(primary))
            || (primary == "fullname" && first.sections.iter().any(|sec| sec.fields.iter().any(|f| f == "lastname")));
        assert!(on_first, "{name}: the primary name is not on the first tab");
    }
    // Kept for clients, off forms.
    for (e, a) in [("account", "address1_latitude"), ("lead", "estimatedvalue")] {
        assert!(!entity(&s, e).attribute(a).unwrap().valid_for_form, "{e}.{a}");
    }
}
