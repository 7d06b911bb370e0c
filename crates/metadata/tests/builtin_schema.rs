//! The built-in CRM schema (`schema/*.toml`) loads, builds, and carries the
//! Dataverse names, navigation properties and state models clients rely on.

use std::collections::{HashMap, HashSet};

use relata_metadata::*;

fn schema() -> Schema {
    let (entities, option_sets) = builtin_definitions().expect("built-in definitions parse");
    Schema::build(entities, option_sets).expect("built-in schema builds")
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
    for name in ["task", "phonecall", "email", "appointment", "letter", "fax"] {
        let e = entity(&s, name);
        for a in pointer.attributes() {
            assert!(e.attribute(&a.name).is_some(), "{name} lacks inherited column {}", a.name);
        }
        let regarding = e.attribute("regardingobjectid").unwrap();
        let targets: HashSet<&str> = regarding.targets.iter().map(|t| t.entity.as_str()).collect();
        assert_eq!(targets, HashSet::from(["account", "contact", "lead", "opportunity"]), "{name}");
        assert!(e.attribute("ownerid").is_some(), "{name} is user-owned");
    }
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
    assert!(twins >= 14, "only {twins} money columns with base twins");
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
