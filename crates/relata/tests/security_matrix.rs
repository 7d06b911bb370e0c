//! A generated permission matrix for account records, checked against an
//! independent model of the Dataverse security rules.
//!
//! A seeded generator builds a business-unit tree, roles with random account
//! privileges and depths, owner teams (and roles on the default teams), users
//! placed in the tree, and account records owned by users, teams and default
//! teams, some shared with users or teams. Every caller then runs every
//! operation against every record (reads, lists in all their forms, updates,
//! Append / AppendTo, sharing; assign and delete on throwaway copies), and
//! each HTTP outcome is compared with what the model in this file predicts.
//! Finally the stored state is compared with what the successful requests
//! should have left behind, so a failed request must have changed nothing.
//!
//! The model implements the rules as Dataverse documents them, not the
//! server's code:
//! - a caller's grants for a right are the privileges of their own roles
//!   (reach counted from the user's business unit) and of the roles of every
//!   team they belong to, their business unit's default team included (reach
//!   counted from the team's business unit);
//! - no grant at all: no access (and every GET on accounts is a 403);
//!   Organization: every record; any depth: records owned by the user or one
//!   of their teams; Business Unit: records of the holder's unit;
//!   Parent: Child: records of the holder's unit and the units below it;
//!   records shared with the user or one of their teams with that right.
//!
//! Expected outcomes for a caller and a record:
//! - `GET`, and every operation on a record but `POST /contacts`: 403
//!   without any Read privilege; `GET`: 404 if not readable, else 200;
//!   every list form returns exactly the readable records;
//! - `PATCH` with `If-Match: *`: 404 if not readable, 403 without Write
//!   access, else 204; without `If-Match` (an upsert) the same for readable
//!   records, and for others 412 (a record with that id exists) when the
//!   caller holds Create, else 403;
//! - `PATCH primarycontactid` (attaching a contact to the account): 404 if
//!   not readable, 403 without Write or Append access, else 204;
//! - `POST /contacts` with the account as `parentcustomerid`: 400 if the
//!   account is not readable (it "does not exist"), 403 without AppendTo
//!   access, else 204;
//! - `GrantAccess`, assign, `DELETE`: 404 if not readable, 403 without
//!   Share / Assign / Delete access, else 204;
//! - `POST /accounts` (owned by the caller): 204 with a Create privilege,
//!   else 403 (assigning to someone else needs that owner to read accounts).
//!
//! The seed is printed; `SECURITY_MATRIX_SEED=<n>` replays another matrix.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::Instant;

use common::{batch_body, each_server, enc, parse_batch, uid, BatchReq, Part, Resp, Srv};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const DEFAULT_SEED: u64 = 20_240_917;

// ---------------------------------------------------------------------------
// Random numbers (splitmix64: tiny, stable across library versions)
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
}

// ---------------------------------------------------------------------------
// Rights, depths
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Right {
    Create,
    Read,
    Write,
    Delete,
    Append,
    AppendTo,
    Assign,
    Share,
}

use Right::*;

const RIGHTS: [Right; 8] = [Create, Read, Write, Delete, Append, AppendTo, Assign, Share];
/// The rights a share can carry.
const SHARE_RIGHTS: [Right; 7] = [Read, Write, Delete, Append, AppendTo, Assign, Share];

impl Right {
    fn privilege(self) -> &'static str {
        match self {
            Create => "prvCreateAccount",
            Read => "prvReadAccount",
            Write => "prvWriteAccount",
            Delete => "prvDeleteAccount",
            Append => "prvAppendAccount",
            AppendTo => "prvAppendToAccount",
            Assign => "prvAssignAccount",
            Share => "prvShareAccount",
        }
    }

    fn access_name(self) -> &'static str {
        match self {
            Create => "CreateAccess",
            Read => "ReadAccess",
            Write => "WriteAccess",
            Delete => "DeleteAccess",
            Append => "AppendAccess",
            AppendTo => "AppendToAccess",
            Assign => "AssignAccess",
            Share => "ShareAccess",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Depth {
    Basic,
    Local,
    Deep,
    Global,
}

use Depth::*;

const DEPTHS: [Depth; 4] = [Basic, Local, Deep, Global];

impl Depth {
    fn name(self) -> &'static str {
        match self {
            Basic => "Basic",
            Local => "Local",
            Deep => "Deep",
            Global => "Global",
        }
    }
}

fn mask_text(mask: u8) -> String {
    SHARE_RIGHTS.iter().filter(|r| mask & r.bit() != 0).map(|r| r.access_name()).collect::<Vec<_>>().join(", ")
}

fn mask_short(mask: u8) -> String {
    SHARE_RIGHTS.iter().filter(|r| mask & r.bit() != 0).map(|r| format!("{r:?}")).collect::<Vec<_>>().join("+")
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

struct Bu {
    label: &'static str,
    parent: Option<usize>,
}

struct Role {
    label: String,
    privs: Vec<(Right, Depth)>,
}

struct Team {
    label: String,
    bu: usize,
    default: bool,
    roles: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Runs the matrix.
    Caller,
    /// Owns records only (reads its own at User depth).
    Resident,
    /// Receives the shares made by callers; checked at the end.
    Sink,
}

struct User {
    label: String,
    bu: usize,
    roles: Vec<usize>,
    /// Owner teams joined explicitly (the default team is implied).
    teams: Vec<usize>,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Principal {
    User(usize),
    Team(usize),
}

#[derive(Clone)]
struct Rec {
    owner: Principal,
    shares: Vec<(Principal, u8)>,
}

/// Where a record's business unit lies relative to a grant holder's.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Pos {
    Own,
    Child,
    Grandchild,
    Parent,
    Sibling,
    Other,
}

struct Model {
    bus: Vec<Bu>,
    roles: Vec<Role>,
    teams: Vec<Team>,
    users: Vec<User>,
    records: Vec<Rec>,
}

/// The operations of the matrix.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Get,
    /// `PATCH` with `If-Match: *` (update only).
    Update,
    /// `PATCH` without `If-Match` (as the rules state it).
    Patch,
    /// `PATCH primarycontactid` (Write + Append on the account).
    Append,
    /// `POST /contacts` with `parentcustomerid` = the account.
    AppendTo,
    /// `GrantAccess` (Read, to another user) by the caller.
    Share,
    Assign,
    Delete,
}

const RECORD_OPS: [Op; 6] = [Op::Get, Op::Update, Op::Patch, Op::Append, Op::AppendTo, Op::Share];

impl Model {
    fn default_team(&self, bu: usize) -> usize {
        self.teams.iter().position(|t| t.default && t.bu == bu).expect("every unit has a default team")
    }

    /// Every team `u` belongs to: the explicit ones and the default team.
    fn teams_of(&self, u: usize) -> Vec<usize> {
        let mut t = self.users[u].teams.clone();
        t.push(self.default_team(self.users[u].bu));
        t
    }

    fn bu_of(&self, p: Principal) -> usize {
        match p {
            Principal::User(u) => self.users[u].bu,
            Principal::Team(t) => self.teams[t].bu,
        }
    }

    /// True when `bu` is `ancestor` or lies below it.
    fn within(&self, bu: usize, ancestor: usize) -> bool {
        let mut b = Some(bu);
        while let Some(x) = b {
            if x == ancestor {
                return true;
            }
            b = self.bus[x].parent;
        }
        false
    }

    fn pos(&self, rec_bu: usize, holder_bu: usize) -> Pos {
        let parent = |b: usize| self.bus[b].parent;
        if rec_bu == holder_bu {
            Pos::Own
        } else if parent(rec_bu) == Some(holder_bu) {
            Pos::Child
        } else if parent(rec_bu).and_then(parent) == Some(holder_bu) {
            Pos::Grandchild
        } else if parent(holder_bu) == Some(rec_bu) {
            Pos::Parent
        } else if parent(rec_bu).is_some() && parent(rec_bu) == parent(holder_bu) {
            Pos::Sibling
        } else {
            Pos::Other
        }
    }

    /// The grants user `u` holds for `r`: (business unit the reach is
    /// counted from, depth).
    fn grants(&self, u: usize, r: Right) -> Vec<(usize, Depth)> {
        let user = &self.users[u];
        let mut g = Vec::new();
        for &ro in &user.roles {
            g.extend(self.roles[ro].privs.iter().filter(|p| p.0 == r).map(|p| (user.bu, p.1)));
        }
        for t in self.teams_of(u) {
            for &ro in &self.teams[t].roles {
                g.extend(self.roles[ro].privs.iter().filter(|p| p.0 == r).map(|p| (self.teams[t].bu, p.1)));
            }
        }
        g
    }

    fn holds(&self, u: usize, r: Right) -> bool {
        !self.grants(u, r).is_empty()
    }

    fn max_depth(&self, u: usize, r: Right) -> Option<Depth> {
        self.grants(u, r).into_iter().map(|g| g.1).max()
    }

    /// True when principal `p` is `u` or one of `u`'s teams.
    fn is_me(&self, u: usize, p: Principal) -> bool {
        match p {
            Principal::User(x) => x == u,
            Principal::Team(t) => self.teams_of(u).contains(&t),
        }
    }

    /// Whether `u` has right `r` on `rec`.
    fn access(&self, u: usize, rec: &Rec, r: Right) -> bool {
        let grants = self.grants(u, r);
        if grants.is_empty() {
            return false;
        }
        if grants.iter().any(|g| g.1 == Global) {
            return true;
        }
        if self.is_me(u, rec.owner) {
            return true;
        }
        let rec_bu = self.bu_of(rec.owner);
        for (holder_bu, depth) in grants {
            match depth {
                Local if rec_bu == holder_bu => return true,
                Deep if self.within(rec_bu, holder_bu) => return true,
                _ => {}
            }
        }
        rec.shares.iter().any(|&(p, mask)| mask & r.bit() != 0 && self.is_me(u, p))
    }

    /// Whether a principal may own accounts: it holds Read (a user through
    /// its own or its teams' roles, a team through its roles).
    fn can_own(&self, p: Principal) -> bool {
        match p {
            Principal::User(u) => self.holds(u, Read),
            Principal::Team(t) => {
                self.teams[t].roles.iter().any(|&ro| self.roles[ro].privs.iter().any(|p| p.0 == Read))
            }
        }
    }

    /// The HTTP status the rules give `op` by `u` on `rec`.
    fn expect(&self, u: usize, rec: &Rec, op: Op) -> u16 {
        let readable = self.access(u, rec, Read);
        let has = |r| self.access(u, rec, r);
        match op {
            Op::Get if !self.holds(u, Read) => 403,
            Op::Get if !readable => 404,
            Op::Get => 200,
            Op::AppendTo if !readable => 400,
            // Without any Read privilege every operation on a record fails
            // on the missing privilege, before looking for the record.
            _ if !self.holds(u, Read) => 403,
            // Without `If-Match`, a PATCH is an upsert: for a record the
            // caller cannot see it tries to create one with that id, which
            // fails as a duplicate (or for want of Create).
            Op::Patch if !readable && self.holds(u, Create) => 412,
            Op::Patch if !readable => 403,
            _ if !readable => 404,
            Op::Update | Op::Patch if !has(Write) => 403,
            Op::Append if !has(Write) || !has(Append) => 403,
            Op::AppendTo if !has(AppendTo) => 403,
            Op::Share if !has(Share) => 403,
            Op::Assign if !has(Assign) => 403,
            Op::Delete if !has(Delete) => 403,
            _ => 204,
        }
    }

    /// Creating an account owned by the caller needs Create (only a new
    /// owner other than the caller must be able to read accounts).
    fn expect_create(&self, u: usize) -> u16 {
        if self.holds(u, Create) {
            204
        } else {
            403
        }
    }

    fn callers(&self) -> Vec<usize> {
        (0..self.users.len()).filter(|&u| self.users[u].kind == Kind::Caller).collect()
    }

    fn principal_label(&self, p: Principal) -> String {
        match p {
            Principal::User(u) => format!("user {}", self.users[u].label),
            Principal::Team(t) => format!("team {}", self.teams[t].label),
        }
    }

    fn role_text(&self, roles: &[usize]) -> String {
        let mut privs: Vec<(Right, Depth)> = roles.iter().flat_map(|&r| self.roles[r].privs.iter().copied()).collect();
        privs.sort();
        if privs.is_empty() {
            return "-".into();
        }
        privs.iter().map(|(r, d)| format!("{r:?}:{}", d.name())).collect::<Vec<_>>().join(" ")
    }

    fn describe_user(&self, u: usize) -> String {
        let user = &self.users[u];
        let teams = self
            .teams_of(u)
            .iter()
            .map(|&t| {
                format!(
                    "{}@{}[{}]",
                    self.teams[t].label,
                    self.bus[self.teams[t].bu].label,
                    self.role_text(&self.teams[t].roles)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{} (BU {}; roles [{}]; teams {})",
            user.label,
            self.bus[user.bu].label,
            self.role_text(&user.roles),
            teams
        )
    }

    fn describe_rec(&self, rec: &Rec) -> String {
        let shares = if rec.shares.is_empty() {
            "none".to_string()
        } else {
            rec.shares
                .iter()
                .map(|&(p, m)| format!("{}{{{}}}", self.principal_label(p), mask_short(m)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "owner {}, BU {}, shared with {}",
            self.principal_label(rec.owner),
            self.bus[self.bu_of(rec.owner)].label,
            shares
        )
    }
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

const CALLERS: usize = 18;
const OWNER_TEAMS: usize = 5;

fn random_privs(rng: &mut Rng, p: f64) -> Vec<(Right, Depth)> {
    let mut privs = Vec::new();
    for r in RIGHTS {
        if rng.chance(p) {
            privs.push((r, rng.pick(&DEPTHS)));
        }
    }
    privs
}

fn push_role(roles: &mut Vec<Role>, mut privs: Vec<(Right, Depth)>) -> usize {
    privs.sort();
    privs.dedup();
    roles.push(Role { label: format!("role{}", roles.len()), privs });
    roles.len() - 1
}

fn shuffle<T>(rng: &mut Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

fn random_mask(rng: &mut Rng) -> u8 {
    let mut mask = 0u8;
    while mask == 0 {
        for r in SHARE_RIGHTS {
            if rng.chance(if r == Read { 0.75 } else { 0.4 }) {
                mask |= r.bit();
            }
        }
    }
    mask
}

/// One random matrix. The callers' own privileges are dealt so that every
/// depth of every right is some caller's, and some callers lack each right;
/// team roles, memberships, owners and shares are random on top.
fn generate(rng: &mut Rng) -> Model {
    // root ─┬─ A ─┬─ A1 ── A1a
    //       │     └─ A2
    //       └─ B
    let bus = vec![
        Bu { label: "root", parent: None },
        Bu { label: "A", parent: Some(0) },
        Bu { label: "A1", parent: Some(1) },
        Bu { label: "A1a", parent: Some(2) },
        Bu { label: "A2", parent: Some(1) },
        Bu { label: "B", parent: Some(0) },
    ];
    let mut roles = vec![Role { label: "owner-read".into(), privs: vec![(Read, Basic)] }];

    // Default teams: one (not the root's) can read and so own records; the
    // others get a role now and then.
    let reading_default = 1 + rng.below(bus.len() - 1);
    let mut teams = Vec::new();
    for (b, bu) in bus.iter().enumerate() {
        let mut t = Team { label: format!("default-{}", bu.label), bu: b, default: true, roles: Vec::new() };
        if b == reading_default {
            let mut privs = random_privs(rng, 0.25);
            privs.push((Read, rng.pick(&DEPTHS)));
            t.roles.push(push_role(&mut roles, privs));
        } else if rng.chance(0.2) {
            let privs = random_privs(rng, 0.25);
            if !privs.is_empty() {
                t.roles.push(push_role(&mut roles, privs));
            }
        }
        teams.push(t);
    }
    // Owner teams: the first reads at Local or Deep (reach from the team's
    // unit), the others are random.
    let first_owner_team = teams.len();
    for k in 0..OWNER_TEAMS {
        let mut t = Team { label: format!("t{k}"), bu: rng.below(bus.len()), default: false, roles: Vec::new() };
        let mut privs = random_privs(rng, 0.3);
        if k == 0 {
            privs.push((Read, rng.pick(&[Local, Deep])));
        }
        if !privs.is_empty() && (k == 0 || rng.chance(0.85)) {
            t.roles.push(push_role(&mut roles, privs));
        }
        teams.push(t);
    }
    let owner_teams: Vec<usize> = (first_owner_team..teams.len()).collect();

    // Callers: two per unit; own privileges dealt per right.
    let mut own: Vec<Vec<(Right, Depth)>> = vec![Vec::new(); CALLERS];
    for r in RIGHTS {
        let mut deal: Vec<Option<Depth>> = vec![Some(Basic), Some(Local), Some(Deep), Some(Global), None, None, None];
        while deal.len() < CALLERS {
            deal.push(if rng.chance(0.4) { None } else { Some(rng.pick(&DEPTHS)) });
        }
        shuffle(rng, &mut deal);
        if r == Read {
            // Callers 1 and 7 sit in unit A, which has a parent, children, a
            // grandchild and a sibling: one reads at Local, one at Deep.
            let at = |deal: &[Option<Depth>], d| deal.iter().position(|&x| x == Some(d)).expect("dealt");
            let i = at(&deal, Local);
            deal.swap(i, 1);
            let i = deal.iter().enumerate().position(|(j, &x)| j != 1 && x == Some(Deep)).expect("dealt");
            deal.swap(i, 7);
        }
        for (u, d) in deal.into_iter().enumerate() {
            if let Some(d) = d {
                own[u].push((r, d));
            }
        }
    }
    let mut users = Vec::new();
    for (i, privs) in own.into_iter().enumerate() {
        let mut user_roles = Vec::new();
        if privs.len() >= 2 && rng.chance(0.3) {
            let cut = 1 + rng.below(privs.len() - 1);
            user_roles.push(push_role(&mut roles, privs[..cut].to_vec()));
            user_roles.push(push_role(&mut roles, privs[cut..].to_vec()));
        } else if !privs.is_empty() {
            user_roles.push(push_role(&mut roles, privs));
        }
        let member_of = owner_teams.iter().copied().filter(|_| rng.chance(0.25)).collect();
        users.push(User {
            label: format!("c{i:02}"),
            bu: i % bus.len(),
            roles: user_roles,
            teams: member_of,
            kind: Kind::Caller,
        });
    }
    // Someone from another unit joins the first owner team.
    let t0 = owner_teams[0];
    let outsiders: Vec<usize> = (0..CALLERS).filter(|&u| users[u].bu != teams[t0].bu).collect();
    let joiner = rng.pick(&outsiders);
    if !users[joiner].teams.contains(&t0) {
        users[joiner].teams.push(t0);
    }
    for (b, bu) in bus.iter().enumerate() {
        users.push(User {
            label: format!("res-{}", bu.label),
            bu: b,
            roles: vec![0],
            teams: Vec::new(),
            kind: Kind::Resident,
        });
    }
    users.push(User { label: "sink".into(), bu: 0, roles: vec![0], teams: Vec::new(), kind: Kind::Sink });

    let mut model = Model { bus, roles, teams, users, records: Vec::new() };

    let mut owners = Vec::new();
    for u in 0..model.users.len() {
        match model.users[u].kind {
            Kind::Resident => owners.extend([Principal::User(u); 2]),
            Kind::Caller if model.can_own(Principal::User(u)) => owners.push(Principal::User(u)),
            _ => {}
        }
    }
    for t in 0..model.teams.len() {
        if model.can_own(Principal::Team(t)) {
            let n = if model.teams[t].default { 1 } else { 2 };
            owners.extend(std::iter::repeat_n(Principal::Team(t), n));
        }
    }
    let callers = model.callers();
    let default_teams: Vec<usize> = (0..first_owner_team).collect();
    for owner in owners {
        let mut shares = Vec::new();
        if rng.chance(0.4) {
            for _ in 0..1 + rng.below(2) {
                let p = match rng.below(10) {
                    0..=4 => Principal::User(rng.pick(&callers)),
                    5..=8 => Principal::Team(rng.pick(&owner_teams)),
                    _ => Principal::Team(rng.pick(&default_teams)),
                };
                shares.push((p, random_mask(rng)));
            }
        }
        model.records.push(Rec { owner, shares });
    }
    // At least one Read share with a user, an owner team and a default team.
    let n = model.records.len();
    for p in [
        Principal::User(rng.pick(&callers)),
        Principal::Team(rng.pick(&owner_teams)),
        Principal::Team(rng.pick(&default_teams)),
    ] {
        let mask = random_mask(rng) | Read.bit();
        model.records[rng.below(n)].shares.push((p, mask));
    }
    model
}

/// What the generated matrix fails to cover (empty: good enough).
fn coverage_gaps(m: &Model) -> Vec<String> {
    let mut gaps = Vec::new();
    let callers = m.callers();
    for r in RIGHTS {
        for d in DEPTHS {
            if !callers.iter().any(|&u| m.max_depth(u, r) == Some(d)) {
                gaps.push(format!("no caller whose strongest {r:?} is {d:?}"));
            }
        }
        if !callers.iter().any(|&u| !m.holds(u, r)) {
            gaps.push(format!("every caller holds {r:?}"));
        }
    }
    let team_reach = callers.iter().any(|&u| {
        m.users[u].teams.iter().any(|&t| {
            m.teams[t].bu != m.users[u].bu
                && m.teams[t]
                    .roles
                    .iter()
                    .any(|&ro| m.roles[ro].privs.iter().any(|p| p.0 == Read && matches!(p.1, Local | Deep)))
        })
    });
    if !team_reach {
        gaps.push("no Local/Deep Read through a team of another unit".into());
    }
    if !callers.iter().any(|&u| !m.teams[m.default_team(m.users[u].bu)].roles.is_empty()) {
        gaps.push("no caller with privileges from the default team".into());
    }
    let own_roles_read = |u: usize| m.users[u].roles.iter().any(|&ro| m.roles[ro].privs.iter().any(|p| p.0 == Read));
    if !callers.iter().any(|&u| m.holds(u, Read) && !own_roles_read(u)) {
        gaps.push("no caller reading through team roles only".into());
    }
    let recs = &m.records;
    let owned_by =
        |default: bool| recs.iter().any(|r| matches!(r.owner, Principal::Team(t) if m.teams[t].default == default));
    if !owned_by(false) {
        gaps.push("no record owned by an owner team".into());
    }
    if !owned_by(true) {
        gaps.push("no record owned by a default team".into());
    }
    let shared_with = |f: &dyn Fn(Principal) -> bool| {
        recs.iter().any(|r| r.shares.iter().any(|&(p, mask)| f(p) && mask & Read.bit() != 0))
    };
    if !shared_with(&|p| matches!(p, Principal::User(_))) {
        gaps.push("no Read share with a user".into());
    }
    if !shared_with(&|p| matches!(p, Principal::Team(t) if !m.teams[t].default)) {
        gaps.push("no Read share with an owner team".into());
    }
    if !shared_with(&|p| matches!(p, Principal::Team(t) if m.teams[t].default)) {
        gaps.push("no Read share with a default team".into());
    }
    // Business-unit positions relative to Local / Deep Read grant holders.
    let mut seen = BTreeSet::new();
    for &u in &callers {
        for (hb, d) in m.grants(u, Read) {
            if matches!(d, Local | Deep) && m.max_depth(u, Read) == Some(d) {
                for rec in recs {
                    seen.insert((d, m.pos(m.bu_of(rec.owner), hb)));
                }
            }
        }
    }
    for (d, positions) in [
        (Local, &[Pos::Own, Pos::Child, Pos::Parent, Pos::Sibling][..]),
        (Deep, &[Pos::Own, Pos::Child, Pos::Grandchild, Pos::Parent, Pos::Sibling][..]),
    ] {
        for &p in positions {
            if !seen.contains(&(d, p)) {
                gaps.push(format!("no record at position {p:?} of a {d:?} Read holder"));
            }
        }
    }
    // Every outcome of every operation.
    for op in RECORD_OPS.iter().copied().chain([Op::Assign, Op::Delete]) {
        let got: BTreeSet<u16> = callers.iter().flat_map(|&u| recs.iter().map(move |r| m.expect(u, r, op))).collect();
        let want: &[u16] = match op {
            Op::Get => &[200, 403, 404],
            Op::AppendTo => &[204, 400, 403],
            Op::Patch => &[204, 403, 412],
            _ => &[204, 403, 404],
        };
        for s in want {
            if !got.contains(s) {
                gaps.push(format!("no {op:?} expected to answer {s}"));
            }
        }
    }
    let creates: BTreeSet<u16> = callers.iter().map(|&u| m.expect_create(u)).collect();
    if creates.len() < 2 {
        gaps.push("create outcomes not varied".into());
    }
    gaps
}

/// The first generated matrix (from `seed`) that covers everything.
fn generate_covered(seed: u64) -> (Model, usize) {
    let mut rng = Rng(seed);
    for attempt in 1..=10_000 {
        let m = generate(&mut rng);
        if coverage_gaps(&m).is_empty() {
            return (m, attempt);
        }
    }
    let last = generate(&mut rng);
    panic!("seed {seed}: no covering matrix in 10000 attempts; the last one lacked: {:?}", coverage_gaps(&last))
}

// ---------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------

/// The server ids of the model's objects.
struct Live {
    tag: String,
    bus: Vec<Uuid>,
    teams: Vec<Uuid>,
    users: Vec<Uuid>,
    tokens: Vec<Option<String>>,
    records: Vec<Uuid>,
    /// Each caller's own contact (for the Append check).
    contacts: Vec<Option<Uuid>>,
}

impl Live {
    fn principal_json(&self, p: Principal) -> Value {
        match p {
            Principal::User(u) => {
                json!({ "@odata.type": "Microsoft.Dynamics.CRM.systemuser", "systemuserid": self.users[u] })
            }
            Principal::Team(t) => json!({ "@odata.type": "Microsoft.Dynamics.CRM.team", "teamid": self.teams[t] }),
        }
    }

    fn owner_bind(&self, p: Principal) -> String {
        match p {
            Principal::User(u) => format!("/systemusers({})", self.users[u]),
            Principal::Team(t) => format!("/teams({})", self.teams[t]),
        }
    }

    fn owner_id(&self, p: Principal) -> Uuid {
        match p {
            Principal::User(u) => self.users[u],
            Principal::Team(t) => self.teams[t],
        }
    }

    fn main_prefix(&self) -> String {
        format!("{}-m-", self.tag)
    }
}

fn grant_body(account: Uuid, principal: Value, mask: &str) -> Value {
    json!({
        "Target": { "@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": account },
        "PrincipalAccess": { "Principal": principal, "AccessMask": mask },
    })
}

fn uuid_at(v: &Value, key: &str) -> Option<Uuid> {
    v.get(key).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
}

fn add_privileges(srv: &Srv, role: Uuid, privs: &[(&str, &str)]) {
    let list: Vec<Value> = privs.iter().map(|(n, d)| json!({ "PrivilegeName": n, "Depth": d })).collect();
    srv.post(&format!("/roles({role})/Microsoft.Dynamics.CRM.AddPrivilegesRole"), &json!({ "Privileges": list }))
        .expect(204);
}

fn associate(srv: &Srv, from: &str, nav: &str, to: &str) {
    srv.post(&format!("/{from}/{nav}/$ref"), &json!({ "@odata.id": format!("{}/{to}", srv.api) })).expect(204);
}

/// Builds the model's units, roles, teams, users and records on `srv`.
fn set_up(srv: &Srv, m: &Model) -> Live {
    let tag = uid();
    let who = srv.whoami_as(&srv.token);
    let root = Uuid::parse_str(who["BusinessUnitId"].as_str().expect("BusinessUnitId")).expect("GUID");

    let mut bus = Vec::new();
    for bu in &m.bus {
        let id = match bu.parent {
            None => root,
            Some(p) => srv.create(
                "businessunits",
                &json!({
                    "name": format!("{tag} {}", bu.label),
                    "parentbusinessunitid@odata.bind": format!("/businessunits({})", bus[p]),
                }),
            ),
        };
        bus.push(id);
    }

    let new_role = |name: &str| {
        srv.create(
            "roles",
            &json!({ "name": format!("{tag} {name}"), "businessunitid@odata.bind": format!("/businessunits({root})") }),
        )
    };
    let mut roles = Vec::new();
    for role in &m.roles {
        let id = new_role(&role.label);
        let privs: Vec<(&str, &str)> = role.privs.iter().map(|(r, d)| (r.privilege(), d.name())).collect();
        add_privileges(srv, id, &privs);
        roles.push(id);
    }
    let baseline = new_role("baseline");
    add_privileges(
        srv,
        baseline,
        &[
            ("prvReadUser", "Global"),
            ("prvAppendUser", "Global"),
            ("prvAppendToUser", "Global"),
            ("prvReadTeam", "Global"),
            ("prvReadBusinessUnit", "Global"),
            ("prvCreateContact", "Basic"),
            ("prvReadContact", "Basic"),
            ("prvWriteContact", "Basic"),
            ("prvAppendContact", "Basic"),
            ("prvAppendToContact", "Basic"),
        ],
    );

    let mut teams = Vec::new();
    for team in &m.teams {
        let id = if team.default {
            let filter = enc(&format!("_businessunitid_value eq {} and isdefault eq true", bus[team.bu]));
            let rows = srv.get(&format!("/teams?$select=name&$filter={filter}")).rows();
            assert_eq!(rows.len(), 1, "[{}] default teams of unit {}: {rows:?}", srv.backend, m.bus[team.bu].label);
            let id = uuid_at(&rows[0], "teamid").expect("teamid");
            let existing = srv.get(&format!("/teams({id})/teamroles_association?$select=name")).rows();
            assert!(
                existing.is_empty(),
                "[{}] default team of {} already has roles: {existing:?}",
                srv.backend,
                m.bus[team.bu].label
            );
            id
        } else {
            srv.create(
                "teams",
                &json!({ "name": format!("{tag} {}", team.label), "businessunitid@odata.bind": format!("/businessunits({})", bus[team.bu]) }),
            )
        };
        for &ro in &team.roles {
            associate(srv, &format!("teams({id})"), "teamroles_association", &format!("roles({})", roles[ro]));
        }
        teams.push(id);
    }

    let mut users = Vec::new();
    let mut tokens = Vec::new();
    for user in &m.users {
        let email = format!("{}-{tag}@relata.test", user.label);
        let id = srv.create(
            "systemusers",
            &json!({
                "firstname": user.label,
                "lastname": format!("Matrix {tag}"),
                "internalemailaddress": email,
                "businessunitid@odata.bind": format!("/businessunits({})", bus[user.bu]),
            }),
        );
        let mut user_roles: Vec<Uuid> = user.roles.iter().map(|&r| roles[r]).collect();
        if user.kind != Kind::Resident {
            user_roles.push(baseline);
        }
        for r in user_roles {
            associate(srv, &format!("systemusers({id})"), "systemuserroles_association", &format!("roles({r})"));
        }
        for &t in &user.teams {
            associate(
                srv,
                &format!("teams({})", teams[t]),
                "teammembership_association",
                &format!("systemusers({id})"),
            );
        }
        let token = (user.kind != Kind::Resident)
            .then(|| common::last_line(&srv.cli(&["token", "create", "--email", &email]).stdout));
        users.push(id);
        tokens.push(token);
    }

    let mut live = Live { tag, bus, teams, users, tokens, records: Vec::new(), contacts: Vec::new() };
    for (i, rec) in m.records.iter().enumerate() {
        let id = create_account(srv, m, &live, rec, &format!("{}{i:02}", live.main_prefix()));
        live.records.push(id);
    }
    for (u, user) in m.users.iter().enumerate() {
        let contact = (user.kind == Kind::Caller).then(|| {
            let token = live.tokens[u].as_deref().expect("caller token");
            let r = srv.send(
                srv.req_as(token, Method::POST, "/contacts")
                    .json(&json!({ "lastname": format!("{}-own-{}", live.tag, user.label) })),
            );
            r.expect(204);
            r.entity_id()
        });
        live.contacts.push(contact);
    }
    live
}

/// Creates an account as `rec` describes (owner, shares) and checks where
/// it landed.
fn create_account(srv: &Srv, m: &Model, live: &Live, rec: &Rec, name: &str) -> Uuid {
    let id = srv.create(
        "accounts",
        &json!({ "name": name, "description": "orig", "ownerid@odata.bind": live.owner_bind(rec.owner) }),
    );
    let v = srv.retrieve("accounts", id, "$select=_ownerid_value,_owningbusinessunit_value");
    assert_eq!(uuid_at(&v, "_ownerid_value"), Some(live.owner_id(rec.owner)), "[{}] owner of {name}", srv.backend);
    assert_eq!(
        uuid_at(&v, "_owningbusinessunit_value"),
        Some(live.bus[m.bu_of(rec.owner)]),
        "[{}] owning business unit of {name} ({})",
        srv.backend,
        m.describe_rec(rec)
    );
    for &(p, mask) in &rec.shares {
        srv.post("/GrantAccess", &grant_body(id, live.principal_json(p), &mask_text(mask))).expect(204);
    }
    id
}

// ---------------------------------------------------------------------------
// Running the matrix
// ---------------------------------------------------------------------------

struct Run<'a> {
    srv: &'a Srv,
    m: &'a Model,
    live: &'a Live,
    checks: usize,
    /// (group, message)
    failures: Vec<(String, String)>,
    /// Expected outcomes seen, per operation.
    outcomes: BTreeMap<String, usize>,
}

fn short(text: &str) -> String {
    let t: String = text.chars().take(220).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

impl Run<'_> {
    fn token(&self, u: usize) -> &str {
        self.live.tokens[u].as_deref().expect("caller token")
    }

    fn send_as(&self, u: usize, method: Method, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Resp {
        let mut rb = self.srv.req_as(self.token(u), method, path);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.srv.send(rb)
    }

    fn check(&mut self, ok: bool, group: impl Into<String>, msg: impl FnOnce() -> String) {
        self.checks += 1;
        if !ok {
            self.failures.push((group.into(), msg()));
        }
    }

    fn rec_label(&self, id: &Uuid) -> String {
        match self.live.records.iter().position(|r| r == id) {
            Some(i) => format!("m{i:02}"),
            None => format!("foreign {id}"),
        }
    }

    /// Compares a set of returned record ids with the expected indexes.
    fn check_set(&mut self, u: usize, what: &str, got: &[Uuid], expected: &BTreeSet<usize>) {
        let want: BTreeSet<Uuid> = expected.iter().map(|&i| self.live.records[i]).collect();
        let got_set: BTreeSet<Uuid> = got.iter().copied().collect();
        let dupes = got.len() != got_set.len();
        let missing: Vec<String> = want.difference(&got_set).map(|id| self.rec_label(id)).collect();
        let extra: Vec<String> = got_set.difference(&want).map(|id| self.rec_label(id)).collect();
        let ok = missing.is_empty() && extra.is_empty() && !dupes;
        let caller = self.m.describe_user(u);
        let group = format!("{}: wrong rows", what.split(" of ").next().unwrap_or(what));
        self.check(ok, group, || {
            format!("caller {caller} | {what}: missing (readable, not returned) {missing:?}, extra (returned, not readable) {extra:?}, duplicates {dupes}")
        });
    }

    fn check_status(&mut self, u: usize, rec: Option<usize>, op: &str, expected: u16, r: &Resp) {
        *self.outcomes.entry(format!("{op} {expected}")).or_default() += 1;
        let ok = r.status == expected;
        let caller = self.m.describe_user(u);
        let record =
            rec.map(|i| format!("record m{i:02} ({}) | ", self.m.describe_rec(&self.m.records[i]))).unwrap_or_default();
        let (status, what, body) = (r.status, r.what.clone(), short(&r.text()));
        self.check(ok, format!("{op}: expected {expected}, got {status}"), || {
            format!("caller {caller} | {record}{op} {what}: expected {expected}, got {status}: {body}")
        });
    }

    fn readable(&self, u: usize) -> BTreeSet<usize> {
        (0..self.m.records.len()).filter(|&i| self.m.access(u, &self.m.records[i], Read)).collect()
    }

    fn ids(rows: &[Value]) -> Vec<Uuid> {
        rows.iter().filter_map(|v| uuid_at(v, "accountid")).collect()
    }

    /// Every list form: `$filter`, `$count=true`, `/$count`, `$apply`,
    /// `$batch`, server-driven paging, and `$expand` from owners.
    fn lists(&mut self, u: usize, rng: &mut Rng) {
        let srv = self.srv;
        let prefix = self.live.main_prefix();
        let filter = enc(&format!("startswith(name,'{prefix}')"));
        let holds = self.m.holds(u, Read);
        let expected = self.readable(u);
        let n = expected.len();
        let list_status = if holds { 200 } else { 403 };

        let r = self.send_as(u, Method::GET, &format!("/accounts?$select=name&$filter={filter}"), None, &[]);
        self.check_status(u, None, "list $filter", list_status, &r);
        if holds && r.status == 200 {
            let rows = r.rows();
            self.check_set(u, "list $filter", &Self::ids(&rows), &expected);
        }

        let r =
            self.send_as(u, Method::GET, &format!("/accounts?$select=name&$filter={filter}&$count=true"), None, &[]);
        self.check_status(u, None, "list $count=true", list_status, &r);
        if holds && r.status == 200 {
            let v = r.json();
            let count = v["@odata.count"].as_u64();
            let caller = self.m.describe_user(u);
            self.check(count == Some(n as u64), "$count=true: wrong @odata.count", || {
                format!("caller {caller} | GET accounts?$count=true: expected @odata.count {n}, got {count:?}")
            });
            let rows = r.rows();
            self.check_set(u, "list $count=true", &Self::ids(&rows), &expected);
        }

        let r = self.send_as(u, Method::GET, &format!("/accounts/$count?$filter={filter}"), None, &[]);
        self.check_status(u, None, "GET /accounts/$count", list_status, &r);
        if holds && r.status == 200 {
            let got = r.text().trim().to_string();
            let caller = self.m.describe_user(u);
            self.check(got == n.to_string(), "/accounts/$count: wrong count", || {
                format!("caller {caller} | GET /accounts/$count: expected {n}, got {got:?}")
            });
        }

        let apply = enc(&format!("filter(startswith(name,'{prefix}'))/aggregate($count as n)"));
        let r = self.send_as(u, Method::GET, &format!("/accounts?$apply={apply}"), None, &[]);
        self.check_status(u, None, "$apply aggregate", list_status, &r);
        if holds && r.status == 200 {
            let v = r.json();
            let got = v["value"][0]["n"].as_u64();
            let caller = self.m.describe_user(u);
            self.check(got == Some(n as u64), "$apply aggregate: wrong count", || {
                format!("caller {caller} | $apply=…/aggregate($count as n): expected {n}, got {got:?} ({v})")
            });
        }

        let (ct, body) = batch_body(&[Part::Req(BatchReq::new(
            "GET",
            format!("{}/accounts?$select=name&$filter={filter}", srv.api),
            None,
        ))]);
        let r = srv.send(srv.req_as(self.token(u), Method::POST, "/$batch").header("Content-Type", ct).body(body));
        self.check_status(u, None, "$batch", 200, &r);
        if r.status == 200 {
            let parts = parse_batch(&r.header("Content-Type").unwrap_or_default(), &r.text());
            let status = parts.first().map(|p| p.status);
            let caller = self.m.describe_user(u);
            *self.outcomes.entry(format!("$batch GET {list_status}")).or_default() += 1;
            self.check(
                status == Some(list_status),
                format!("$batch GET: expected {list_status}, got {status:?}"),
                || format!("caller {caller} | $batch GET accounts: expected part status {list_status}, got {status:?}"),
            );
            if holds && status == Some(200) {
                let rows = parts[0].json()["value"].as_array().cloned().unwrap_or_default();
                self.check_set(u, "$batch GET", &Self::ids(&rows), &expected);
            }
        }

        // Server-driven paging, following every nextLink.
        let mut url = format!("/accounts?$select=name&$filter={filter}");
        let mut got = Vec::new();
        for page in 0.. {
            let r = self.send_as(u, Method::GET, &url, None, &[("Prefer", "odata.maxpagesize=2")]);
            if page == 0 {
                self.check_status(u, None, "paged list", list_status, &r);
            } else {
                self.check_status(u, None, "paged list (nextLink)", 200, &r);
            }
            if r.status != 200 || page > 100 {
                break;
            }
            let v = r.json();
            let rows = v["value"].as_array().cloned().unwrap_or_default();
            let caller = self.m.describe_user(u);
            let len = rows.len();
            self.check(len <= 2, "paging: page larger than odata.maxpagesize", || {
                format!("caller {caller} | paged list: page {page} has {len} rows")
            });
            got.extend(Self::ids(&rows));
            match v["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => break,
            }
        }
        if holds {
            self.check_set(u, "paged list", &got, &expected);
        }

        // $expand from a few owners (users and teams).
        if holds {
            let mut owners: Vec<Principal> = Vec::new();
            for rec in &self.m.records {
                if !owners.contains(&rec.owner) {
                    owners.push(rec.owner);
                }
            }
            for _ in 0..3 {
                let owner = rng.pick(&owners);
                let nested = enc(&format!("($select=name;$filter=startswith(name,'{prefix}'))"));
                let path = match owner {
                    Principal::User(o) => {
                        format!("/systemusers({})?$select=fullname&$expand=user_accounts{nested}", self.live.users[o])
                    }
                    Principal::Team(t) => {
                        format!("/teams({})?$select=name&$expand=team_accounts{nested}", self.live.teams[t])
                    }
                };
                let nav = if matches!(owner, Principal::User(_)) { "user_accounts" } else { "team_accounts" };
                let r = self.send_as(u, Method::GET, &path, None, &[]);
                self.check_status(u, None, &format!("$expand {nav}"), 200, &r);
                if r.status == 200 {
                    let rows = r.json()[nav].as_array().cloned().unwrap_or_default();
                    let want: BTreeSet<usize> =
                        expected.iter().copied().filter(|&i| self.m.records[i].owner == owner).collect();
                    let what = format!("$expand {nav} of {}", self.m.principal_label(owner));
                    self.check_set(u, &what, &Self::ids(&rows), &want);
                }
            }
        }
    }
}

/// The state successful requests should have left behind.
#[derive(Default)]
struct Expected {
    description: HashMap<usize, String>,
    primary_contact: HashMap<usize, Uuid>,
    appended_contacts: HashMap<usize, usize>,
    shared_with_sink: BTreeSet<usize>,
    created: usize,
}

/// A throwaway copy for a destructive operation.
struct Throwaway {
    caller: usize,
    spec: usize,
    op: Op,
    id: Uuid,
}

/// For each caller and destructive operation: one record per expected
/// outcome, plus one at random.
fn destructive_plan(m: &Model, rng: &mut Rng) -> Vec<(usize, usize, Op)> {
    let mut plan = Vec::new();
    for u in m.callers() {
        for op in [Op::Assign, Op::Delete] {
            let mut by_outcome: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
            for (i, rec) in m.records.iter().enumerate() {
                by_outcome.entry(m.expect(u, rec, op)).or_default().push(i);
            }
            let mut picks: Vec<usize> = by_outcome.values().map(|v| rng.pick(v)).collect();
            picks.push(rng.below(m.records.len()));
            for i in picks {
                plan.push((u, i, op));
            }
        }
    }
    plan
}

fn run_matrix(srv: &Srv, m: &Model, seed: u64) {
    let started = Instant::now();
    let live = set_up(srv, m);
    let mut rng = Rng(seed ^ 0xD1B5_4A32_D192_ED03);
    let plan = destructive_plan(m, &mut rng);
    let copies: Vec<Throwaway> = plan
        .iter()
        .enumerate()
        .map(|(k, &(caller, spec, op))| Throwaway {
            caller,
            spec,
            op,
            id: create_account(srv, m, &live, &m.records[spec], &format!("{}-x-{k:03}", live.tag)),
        })
        .collect();
    let setup_time = started.elapsed();

    let mut run = Run { srv, m, live: &live, checks: 0, failures: Vec::new(), outcomes: BTreeMap::new() };
    let mut state = Expected::default();
    let sink = m.users.iter().position(|u| u.kind == Kind::Sink).expect("sink");
    let assign_to = |spec: usize| {
        let target = m.users.iter().position(|u| u.kind == Kind::Resident && u.bu == 0).expect("root resident");
        let other = m.users.iter().position(|u| u.kind == Kind::Resident && u.bu == 5).expect("B resident");
        if m.records[spec].owner == Principal::User(target) {
            other
        } else {
            target
        }
    };

    for u in m.callers() {
        run.lists(u, &mut rng);
        let label = &m.users[u].label;
        for (i, rec) in m.records.iter().enumerate() {
            let id = live.records[i];
            let path = format!("/accounts({id})");

            let r = run.send_as(u, Method::GET, &format!("{path}?$select=name"), None, &[]);
            run.check_status(u, Some(i), "GET", m.expect(u, rec, Op::Get), &r);

            let value = format!("u-{label}-{i}");
            let r = run.send_as(u, Method::PATCH, &path, Some(&json!({ "description": value })), &[("If-Match", "*")]);
            run.check_status(u, Some(i), "PATCH description (If-Match: *)", m.expect(u, rec, Op::Update), &r);
            if r.status == 204 {
                state.description.insert(i, value);
            }

            let value = format!("p-{label}-{i}");
            let r = run.send_as(u, Method::PATCH, &path, Some(&json!({ "description": value })), &[]);
            run.check_status(u, Some(i), "PATCH description", m.expect(u, rec, Op::Patch), &r);
            if r.status == 204 {
                state.description.insert(i, value);
            }

            let contact = live.contacts[u].expect("own contact");
            let body = json!({ "primarycontactid@odata.bind": format!("/contacts({contact})") });
            let r = run.send_as(u, Method::PATCH, &path, Some(&body), &[("If-Match", "*")]);
            run.check_status(u, Some(i), "PATCH primarycontactid (Append)", m.expect(u, rec, Op::Append), &r);
            if r.status == 204 {
                state.primary_contact.insert(i, contact);
            }

            let body = json!({
                "lastname": format!("{}-a-{label}", live.tag),
                "parentcustomerid_account@odata.bind": format!("/accounts({id})"),
            });
            let r = run.send_as(u, Method::POST, "/contacts", Some(&body), &[]);
            let expected = m.expect(u, rec, Op::AppendTo);
            run.check_status(u, Some(i), "POST contact with parentcustomerid (AppendTo)", expected, &r);
            if r.status == 204 {
                *state.appended_contacts.entry(u).or_default() += 1;
            }
            if expected == 400 && r.status == 400 {
                let text = r.text().to_lowercase();
                let caller = m.describe_user(u);
                run.check(text.contains("not exist"), "AppendTo 400 without 'does not exist'", || {
                    format!("caller {caller} | record m{i:02} | POST contact: 400 message should say the record does not exist: {text}")
                });
            }

            let body = grant_body(id, live.principal_json(Principal::User(sink)), "ReadAccess");
            let r = run.send_as(u, Method::POST, "/GrantAccess", Some(&body), &[]);
            run.check_status(u, Some(i), "GrantAccess (Read to another user)", m.expect(u, rec, Op::Share), &r);
            if r.status == 204 {
                state.shared_with_sink.insert(i);
            }
        }

        // Create, owned by the caller.
        let r =
            run.send_as(u, Method::POST, "/accounts", Some(&json!({ "name": format!("{}-n-{label}", live.tag) })), &[]);
        run.check_status(u, None, "POST account", m.expect_create(u), &r);
        if r.status == 204 {
            state.created += 1;
            let v = srv.retrieve("accounts", r.entity_id(), "$select=_ownerid_value,_owningbusinessunit_value");
            let (owner, bu) = (uuid_at(&v, "_ownerid_value"), uuid_at(&v, "_owningbusinessunit_value"));
            let caller = m.describe_user(u);
            let ok = owner == Some(live.users[u]) && bu == Some(live.bus[m.users[u].bu]);
            run.check(ok, "created account: wrong owner or unit", || {
                format!("caller {caller} | POST account: expected owner = caller in its unit, got owner {owner:?}, unit {bu:?}")
            });
        }
    }

    // Destructive operations on copies.
    for c in &copies {
        let rec = &m.records[c.spec];
        let path = format!("/accounts({})", c.id);
        let expected = m.expect(c.caller, rec, c.op);
        let caller = m.describe_user(c.caller);
        let copy = format!("copy of m{:02} ({})", c.spec, m.describe_rec(rec));
        match c.op {
            Op::Assign => {
                let to = assign_to(c.spec);
                let body = json!({ "ownerid@odata.bind": format!("/systemusers({})", live.users[to]) });
                let r = run.send_as(c.caller, Method::PATCH, &path, Some(&body), &[("If-Match", "*")]);
                run.check_status(c.caller, Some(c.spec), "assign (PATCH ownerid, If-Match: *)", expected, &r);
                let v = srv.retrieve("accounts", c.id, "$select=_ownerid_value,_owningbusinessunit_value");
                let (owner, bu) = (uuid_at(&v, "_ownerid_value"), uuid_at(&v, "_owningbusinessunit_value"));
                let (want_owner, want_bu) = if r.status == 204 {
                    (live.users[to], live.bus[m.users[to].bu])
                } else {
                    (live.owner_id(rec.owner), live.bus[m.bu_of(rec.owner)])
                };
                let status = r.status;
                run.check(owner == Some(want_owner) && bu == Some(want_bu), "assign: owner after the request", || {
                    format!("caller {caller} | {copy} | assign answered {status}: expected owner {want_owner} in unit {want_bu}, found {owner:?} in {bu:?}")
                });
            }
            Op::Delete => {
                let r = run.send_as(c.caller, Method::DELETE, &path, None, &[]);
                run.check_status(c.caller, Some(c.spec), "DELETE", expected, &r);
                let after = srv.get(&format!("{path}?$select=name")).status;
                let want = if r.status == 204 { 404 } else { 200 };
                let status = r.status;
                run.check(after == want, "delete: existence after the request", || {
                    format!(
                        "caller {caller} | {copy} | DELETE answered {status}: admin GET expected {want}, got {after}"
                    )
                });
            }
            _ => unreachable!(),
        }
    }

    // The stored state: failed requests changed nothing.
    for (i, &id) in live.records.iter().enumerate() {
        let v = srv.retrieve("accounts", id, "$select=description,_primarycontactid_value,_ownerid_value");
        let want_desc = state.description.get(&i).cloned().unwrap_or_else(|| "orig".into());
        let got_desc = v["description"].as_str().map(str::to_string);
        let want_pc = state.primary_contact.get(&i).copied();
        let got_pc = uuid_at(&v, "_primarycontactid_value");
        let got_owner = uuid_at(&v, "_ownerid_value");
        let want_owner = live.owner_id(m.records[i].owner);
        run.check(
            got_desc.as_deref() == Some(&want_desc) && got_pc == want_pc && got_owner == Some(want_owner),
            "final state of a record",
            || {
                format!(
                    "record m{i:02}: expected description {want_desc:?}, primary contact {want_pc:?}, owner {want_owner}; found {got_desc:?}, {got_pc:?}, {got_owner:?}"
                )
            },
        );
    }
    for u in m.callers() {
        let lastname = enc(&format!("lastname eq '{}-a-{}'", live.tag, m.users[u].label));
        let got = srv.get(&format!("/contacts?$select=lastname&$filter={lastname}")).rows().len();
        let want = state.appended_contacts.get(&u).copied().unwrap_or(0);
        let label = &m.users[u].label;
        run.check(got == want, "contacts created by AppendTo requests", || {
            format!("caller {label}: {want} contact creations answered 204, {got} contacts exist")
        });
    }
    let created = srv
        .get(&format!("/accounts?$select=name&$filter={}", enc(&format!("startswith(name,'{}-n-')", live.tag))))
        .rows()
        .len();
    let want_created = state.created;
    run.check(created == want_created, "accounts created", || {
        format!("{want_created} account creations answered 204, {created} accounts exist")
    });
    // The user the callers shared with sees exactly what they shared (and
    // what the rules give it anyway).
    let sink_expected: BTreeSet<usize> = (0..m.records.len())
        .filter(|&i| m.access(sink, &m.records[i], Read) || state.shared_with_sink.contains(&i))
        .collect();
    let filter = enc(&format!("startswith(name,'{}')", live.main_prefix()));
    let r = run.send_as(sink, Method::GET, &format!("/accounts?$select=name&$filter={filter}"), None, &[]);
    run.check_status(sink, None, "list as the share recipient", 200, &r);
    if r.status == 200 {
        let rows = r.rows();
        run.check_set(sink, "list as the share recipient", &Run::ids(&rows), &sink_expected);
    }

    let elapsed = started.elapsed();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "[{}] seed {seed}: {} callers x {} records (+{} copies), {} checks, {} mismatches; setup {:.1}s, total {:.1}s",
        srv.backend,
        m.callers().len(),
        m.records.len(),
        copies.len(),
        run.checks,
        run.failures.len(),
        setup_time.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(report, "[{}] expected outcomes exercised: {:?}", srv.backend, run.outcomes);
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (g, msg) in &run.failures {
        groups.entry(g.as_str()).or_default().push(msg.as_str());
    }
    for (g, msgs) in &groups {
        let _ = writeln!(report, "[{}] MISMATCH {g}: {} times, e.g.", srv.backend, msgs.len());
        for msg in msgs.iter().take(4) {
            let _ = writeln!(report, "    {msg}");
        }
    }
    println!("{report}");
    assert!(run.failures.is_empty(), "{} security mismatches on {}:\n{report}", run.failures.len(), srv.backend);
}

fn legend(m: &Model) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "business units: root -> A -> A1 -> A1a, A -> A2, root -> B");
    for t in &m.teams {
        if !t.roles.is_empty() || !t.default {
            let _ = writeln!(s, "team {}@{}: [{}]", t.label, m.bus[t.bu].label, m.role_text(&t.roles));
        }
    }
    for u in m.callers() {
        let _ = writeln!(s, "caller {}", m.describe_user(u));
    }
    for (i, r) in m.records.iter().enumerate() {
        let _ = writeln!(s, "record m{i:02}: {}", m.describe_rec(r));
    }
    s
}

#[test]
fn account_permission_matrix() {
    let seed = std::env::var("SECURITY_MATRIX_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let (model, attempt) = generate_covered(seed);
    println!("security matrix seed {seed} (covering matrix found at attempt {attempt})\n{}", legend(&model));
    each_server(|srv| run_matrix(srv, &model, seed));
}
