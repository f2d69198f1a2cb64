using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

#pragma warning disable CA1814 // Prefer jagged arrays over multidimensional

namespace Tandem.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Handoff : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Assignments",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    LeadId = table.Column<Guid>(type: "uuid", nullable: false),
                    RepId = table.Column<Guid>(type: "uuid", nullable: true),
                    TeamId = table.Column<Guid>(type: "uuid", nullable: true),
                    Tier = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    State = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    MqlAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    AssignedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    FirstTouchDueAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    BreachAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    ReassignAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    FirstTouchedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    BreachedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    ClosedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    PreviousAssignmentId = table.Column<Guid>(type: "uuid", nullable: true),
                    Path = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    RuleId = table.Column<Guid>(type: "uuid", nullable: true),
                    RuleName = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    Strategy = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    Reason = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    Decision = table.Column<string>(type: "character varying(64000)", maxLength: 64000, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Assignments", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Assignments_AspNetUsers_RepId",
                        column: x => x.RepId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_Assignments_Leads_LeadId",
                        column: x => x.LeadId,
                        principalTable: "Leads",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "HandoffSettings",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false),
                    DefaultTeamId = table.Column<Guid>(type: "uuid", nullable: true),
                    TierRule = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: true),
                    ConfigVersion = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    UpdatedBy = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_HandoffSettings", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RepProfiles",
                columns: table => new
                {
                    UserId = table.Column<Guid>(type: "uuid", nullable: false),
                    Calendar = table.Column<string>(type: "character varying(64000)", maxLength: 64000, nullable: false),
                    MaxOpenMqls = table.Column<int>(type: "integer", nullable: true),
                    MaxNewPerDay = table.Column<int>(type: "integer", nullable: true),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RepProfiles", x => x.UserId);
                    table.ForeignKey(
                        name: "FK_RepProfiles_AspNetUsers_UserId",
                        column: x => x.UserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "RoutingRules",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Order = table.Column<int>(type: "integer", nullable: false),
                    Name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    Enabled = table.Column<bool>(type: "boolean", nullable: false),
                    Conditions = table.Column<string>(type: "character varying(64000)", maxLength: 64000, nullable: false),
                    TargetTeamId = table.Column<Guid>(type: "uuid", nullable: true),
                    TargetRepId = table.Column<Guid>(type: "uuid", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RoutingRules", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "SalesTeams",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    ManagerUserId = table.Column<Guid>(type: "uuid", nullable: true),
                    Strategy = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Overflow = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_SalesTeams", x => x.Id);
                    table.ForeignKey(
                        name: "FK_SalesTeams_AspNetUsers_ManagerUserId",
                        column: x => x.ManagerUserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "SlaPolicies",
                columns: table => new
                {
                    Tier = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    FirstTouchMinutes = table.Column<int>(type: "integer", nullable: false),
                    ReminderPercents = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    GraceMinutes = table.Column<int>(type: "integer", nullable: false),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    AttemptWindowDays = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_SlaPolicies", x => x.Tier);
                });

            migrationBuilder.CreateTable(
                name: "SlaTimers",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    AssignmentId = table.Column<Guid>(type: "uuid", nullable: false),
                    Kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Percent = table.Column<int>(type: "integer", nullable: true),
                    DueAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    ClaimedBy = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    DoneAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    Outcome = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_SlaTimers", x => x.Id);
                    table.ForeignKey(
                        name: "FK_SlaTimers_Assignments_AssignmentId",
                        column: x => x.AssignmentId,
                        principalTable: "Assignments",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "SalesTeamMembers",
                columns: table => new
                {
                    TeamId = table.Column<Guid>(type: "uuid", nullable: false),
                    UserId = table.Column<Guid>(type: "uuid", nullable: false),
                    Weight = table.Column<int>(type: "integer", nullable: false),
                    AssignedCount = table.Column<int>(type: "integer", nullable: false),
                    LastAssignedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_SalesTeamMembers", x => new { x.TeamId, x.UserId });
                    table.ForeignKey(
                        name: "FK_SalesTeamMembers_AspNetUsers_UserId",
                        column: x => x.UserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_SalesTeamMembers_SalesTeams_TeamId",
                        column: x => x.TeamId,
                        principalTable: "SalesTeams",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.InsertData(
                table: "HandoffSettings",
                columns: new[] { "Id", "ConfigVersion", "DefaultTeamId", "TierRule", "UpdatedAt", "UpdatedBy" },
                values: new object[] { 1, 0L, null, null, null, null });

            migrationBuilder.InsertData(
                table: "SlaPolicies",
                columns: new[] { "Tier", "AttemptWindowDays", "Attempts", "FirstTouchMinutes", "GraceMinutes", "ReminderPercents" },
                values: new object[,]
                {
                    { "Hot", 5, 6, 60, 15, "[50,80]" },
                    { "Low", 15, 2, 960, 240, "[80]" },
                    { "Standard", 10, 4, 480, 60, "[50,80]" }
                });

            migrationBuilder.CreateIndex(
                name: "IX_Assignments_AssignedAt",
                table: "Assignments",
                column: "AssignedAt");

            migrationBuilder.CreateIndex(
                name: "IX_Assignments_LeadId_State",
                table: "Assignments",
                columns: new[] { "LeadId", "State" });

            migrationBuilder.CreateIndex(
                name: "IX_Assignments_RepId_State",
                table: "Assignments",
                columns: new[] { "RepId", "State" });

            migrationBuilder.CreateIndex(
                name: "IX_Assignments_State_AssignedAt",
                table: "Assignments",
                columns: new[] { "State", "AssignedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_RoutingRules_Order",
                table: "RoutingRules",
                column: "Order");

            migrationBuilder.CreateIndex(
                name: "IX_SalesTeamMembers_UserId",
                table: "SalesTeamMembers",
                column: "UserId");

            migrationBuilder.CreateIndex(
                name: "IX_SalesTeams_ManagerUserId",
                table: "SalesTeams",
                column: "ManagerUserId");

            migrationBuilder.CreateIndex(
                name: "IX_SalesTeams_Name",
                table: "SalesTeams",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_SlaTimers_AssignmentId",
                table: "SlaTimers",
                column: "AssignmentId");

            migrationBuilder.CreateIndex(
                name: "IX_SlaTimers_Status_DueAt",
                table: "SlaTimers",
                columns: new[] { "Status", "DueAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "HandoffSettings");

            migrationBuilder.DropTable(
                name: "RepProfiles");

            migrationBuilder.DropTable(
                name: "RoutingRules");

            migrationBuilder.DropTable(
                name: "SalesTeamMembers");

            migrationBuilder.DropTable(
                name: "SlaPolicies");

            migrationBuilder.DropTable(
                name: "SlaTimers");

            migrationBuilder.DropTable(
                name: "SalesTeams");

            migrationBuilder.DropTable(
                name: "Assignments");
        }
    }
}
