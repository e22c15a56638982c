"""The Prisma parser, and the contract check against a live database."""
import textwrap

import pytest
from conftest import PROJECT_DIR

from pgrename import prisma

TARGET = PROJECT_DIR / "sql" / "demo" / "target.prisma"


def expected(text: str) -> dict:
    return prisma.expectations(prisma.parse(textwrap.dedent(text), "test.prisma"))


def test_the_scenario_schema():
    tables = {t["table"]: t for t in prisma.expectations(prisma.load(TARGET))["tables"]}
    assert list(tables) == ["users", "chat_folders", "chat_sessions", "chat_messages"]
    users = tables["users"]
    assert users["primary_key"] == {"columns": ["id"], "name": "users_pkey", "line": 15}
    assert [(u["columns"], u["name"]) for u in users["unique"]] == [(["email"], "users_email_key"),
                                                                   (["username"], "users_username_key")]
    columns = {c["column"]: (c["type"], c["nullable"], c["db_default"]) for c in users["columns"]}
    assert columns["role"] == ("UserRole", False, True)
    assert columns["id"] == ("text", False, False)  # @default(cuid()) is made by Prisma, not the database
    assert columns["username"] == ("text", True, False)
    assert "chatSessions" not in columns  # relation fields are not columns
    assert tables["chat_sessions"]["foreign_keys"][1] == {
        "columns": ["folderId"], "references": "chat_folders", "ref_columns": ["id"], "line": 51,
        "name": "chat_sessions_folderId_fkey", "on_delete": "SET NULL", "on_update": "CASCADE"}


def test_tricky_input():
    result = expected('''
        // a comment with { braces } and "quotes"
        generator client {
          provider = "prisma-client-js"
        }
        /// documentation comment
        model Membership {
          @@map("team_members")          // @@map before the fields
          teamId   String @map("team_id")
          userId   String @map("user_id") // trailing comment
          role     Role   @default(MEMBER)
          joinedAt DateTime @default(now()) @db.Timestamptz(6)
          name     String @db.VarChar(255)
          tags     String[]
          team     Team   @relation(
                              fields: [teamId],
                              references: [id],
                              onDelete: Cascade
                          )
          @@id([teamId, userId])
          @@unique([userId, role], map: "one_role_per_user")
        }
        model Team {
          id String @id @default(uuid())
          members Membership[]
        }
        enum Role {
          MEMBER
          ADMIN // trailing
          @@map("team_role")
        }
    ''')
    members = result["tables"][0]
    assert members["table"] == "team_members"
    assert members["primary_key"] == {"columns": ["team_id", "user_id"], "name": "team_members_pkey", "line": 20}
    assert members["unique"] == [{"columns": ["user_id", "role"], "name": "one_role_per_user", "line": 21}]
    columns = {c["column"]: c for c in members["columns"]}
    assert columns["role"]["type"] == "team_role" and columns["role"]["db_default"] is True
    assert columns["joinedAt"]["type"] == "timestamp(6) with time zone"
    assert columns["name"]["type"] == "character varying(255)"
    assert columns["tags"]["type"] == "text[]"
    assert members["foreign_keys"] == [{"columns": ["team_id"], "references": "Team", "ref_columns": ["id"],
                                        "name": "team_members_team_id_fkey", "on_delete": "CASCADE",
                                        "on_update": "CASCADE", "line": 15}]
    assert result["enums"] == [{"name": "team_role", "schema": None, "values": ["MEMBER", "ADMIN"], "line": 27}]


@pytest.mark.parametrize("text, message", [
    ("model User {\n  id String @id\n", "test.prisma: the last block is never closed"),
    ("model User {\n  id String @id(\n}\n", "test.prisma:2: '(' or '[' is never closed"),
    ("modle User {\n}\n", "test.prisma:1: expected a block such as 'model Name {'"),
    ("model User {\n  id\n}\n", "test.prisma:2: expected a field 'name Type'"),
    ("model User {\n  id String )\n}\n", "test.prisma:2: a ')' or ']' closes nothing"),
    ("model A {\n}\nmodel A {\n}\n", "test.prisma:3: A is defined twice"),
])
def test_bad_prisma_input_names_the_line(text, message):
    with pytest.raises(prisma.PrismaError) as error:
        prisma.parse(text, "test.prisma")
    assert message in str(error.value)


def test_the_demo_matches_the_contract_after_migrate(demo_db):
    assert demo_db.runner("migrate").code == 0
    result = demo_db.runner("verify", "--contract", str(TARGET))
    assert result.code == 0, result.text
    assert "target.prisma: 0 difference(s)" in result.out


def test_every_kind_of_difference_is_listed(demo_db):
    assert demo_db.runner("migrate").code == 0
    assert demo_db.runner("contract").code == 0  # the views would keep these columns from changing
    demo_db.execute('DROP INDEX users_username_key; ALTER TABLE chat_messages ALTER COLUMN metadata TYPE json;'
                    ' ALTER TABLE chat_folders ALTER COLUMN "isDefault" DROP DEFAULT;'
                    ' ALTER TABLE chat_folders DROP CONSTRAINT "chat_folders_userId_fkey";'
                    ' ALTER TABLE chat_sessions ALTER COLUMN title DROP NOT NULL;'
                    ' ALTER TABLE chat_sessions DROP COLUMN "isActive" CASCADE')
    contract = demo_db.workdir / "target.prisma"
    contract.write_text(TARGET.read_text().replace("ADMIN\n", "ADMIN\n  OWNER\n")
                        + "\nmodel Audit {\n  id Int @id\n  @@map(\"audit_entries\")\n}\n")
    result = demo_db.runner("verify", "--contract", str(contract))
    assert result.code == 3
    for line in ["ERROR missing_unique users: expected unique (username)",
                 "ERROR type_mismatch chat_messages.metadata: expected jsonb, found json",
                 "ERROR missing_default chat_folders.isDefault",
                 "ERROR missing_foreign_key chat_folders.userId: expected references users (id)",
                 "ERROR nullability_mismatch chat_sessions.title: expected NOT NULL, found NULL allowed",
                 "ERROR missing_column chat_sessions.isActive",
                 "ERROR missing_enum_value UserRole: expected OWNER",
                 "ERROR missing_table audit_entries"]:
        assert line in result.out, line
    assert "does not match the contract" in result.text


def test_bad_contract_file_is_a_clear_error(demo_db):
    assert demo_db.runner("migrate").code == 0
    bad = demo_db.workdir / "bad.prisma"
    bad.write_text("model X {\n  id String @id\n")
    result = demo_db.runner("verify", "--contract", str(bad))
    assert result.code == 2
    assert "bad.prisma: the last block is never closed" in result.text


def test_drift_prisma_would_see_in_names_actions_indexes_and_join_tables(demo_db):
    """What `prisma migrate diff` sees beyond columns: an FK's ON DELETE changed, a unique index and
    an FK renamed, an @@index and an implicit many-to-many join table missing."""
    assert demo_db.runner("migrate").code == 0
    demo_db.execute('ALTER TABLE chat_messages DROP CONSTRAINT "chat_messages_sessionId_fkey",'
                    ' ADD CONSTRAINT "chat_messages_sessionId_fkey" FOREIGN KEY ("sessionId")'
                    ' REFERENCES chat_sessions (id) ON DELETE RESTRICT ON UPDATE CASCADE;'
                    ' ALTER INDEX users_email_key RENAME TO users_email_unique;'
                    ' ALTER TABLE chat_folders RENAME CONSTRAINT "chat_folders_userId_fkey" TO folder_owner')
    contract = demo_db.workdir / "target.prisma"
    contract.write_text(TARGET.read_text()
                        .replace("  chatFolders   ChatFolder[]\n", "  chatFolders   ChatFolder[]\n  shared  ChatFolder[] @relation(\"Shared\")\n")
                        .replace("  sessions     ChatSession[]\n", "  sessions     ChatSession[]\n  sharedWith User[] @relation(\"Shared\")\n")
                        .replace('  @@map("chat_sessions")', '  @@index([userId, lastMessageAt])\n  @@map("chat_sessions")'))
    result = demo_db.runner("verify", "--contract", str(contract))
    assert result.code == 3, result.text
    for line in [
            "ERROR referential_action_mismatch chat_messages.sessionId: expected ON DELETE CASCADE ON UPDATE CASCADE, "
            "found ON DELETE RESTRICT ON UPDATE CASCADE",
            "ERROR name_mismatch users.email: expected unique users_email_key, found users_email_unique",
            "ERROR name_mismatch chat_folders.userId: expected foreign key chat_folders_userId_fkey, found folder_owner",
            "ERROR name_mismatch chat_sessions.userId, lastMessageAt: expected index chat_sessions_userId_lastMessageAt_idx,"
            " found idx_recent_sessions",
            "ERROR missing_table _Shared: expected a table"]:
        assert line in result.out, line
    # Built as Prisma would build it, the join table matches.
    demo_db.execute('CREATE TABLE "_Shared" ("A" text NOT NULL, "B" text NOT NULL,'
                    ' CONSTRAINT "_Shared_AB_pkey" PRIMARY KEY ("A", "B"));'
                    ' CREATE INDEX "_Shared_B_index" ON "_Shared" ("B");'
                    ' ALTER TABLE "_Shared" ADD CONSTRAINT "_Shared_A_fkey" FOREIGN KEY ("A") REFERENCES chat_folders (id)'
                    ' ON DELETE CASCADE ON UPDATE CASCADE, ADD CONSTRAINT "_Shared_B_fkey" FOREIGN KEY ("B")'
                    ' REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE')
    result = demo_db.runner("verify", "--contract", str(contract))
    assert result.code == 3 and "_Shared" not in result.out  # the other drifts stay
