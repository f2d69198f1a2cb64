using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Qualification : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Grade",
                table: "Leads",
                type: "TEXT",
                maxLength: 1,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "PersonaMatch",
                table: "Leads",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ScoreDirtyAt",
                table: "Leads",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ScoredAt",
                table: "Leads",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "ScoredVersion",
                table: "Leads",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "BantAssessments",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    LeadId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Budget = table.Column<bool>(type: "INTEGER", nullable: false),
                    BudgetNote = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    Authority = table.Column<bool>(type: "INTEGER", nullable: false),
                    AuthorityNote = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    Need = table.Column<bool>(type: "INTEGER", nullable: false),
                    NeedNote = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    Timing = table.Column<bool>(type: "INTEGER", nullable: false),
                    TimingNote = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    ByUserId = table.Column<Guid>(type: "TEXT", nullable: true),
                    At = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BantAssessments", x => x.Id);
                    table.ForeignKey(
                        name: "FK_BantAssessments_Leads_LeadId",
                        column: x => x.LeadId,
                        principalTable: "Leads",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "QualificationVersions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Number = table.Column<int>(type: "INTEGER", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Definition = table.Column<string>(type: "TEXT", maxLength: 200000, nullable: false),
                    Summary = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    AuthorId = table.Column<Guid>(type: "TEXT", nullable: true),
                    AuthorName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedByName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    ActivatedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ActivatedByName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    RetiredAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Revision = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_QualificationVersions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_QualificationVersions_AspNetUsers_AuthorId",
                        column: x => x.AuthorId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "QualificationJobs",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    VersionId = table.Column<Guid>(type: "TEXT", nullable: true),
                    Days = table.Column<int>(type: "INTEGER", nullable: true),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true),
                    Total = table.Column<long>(type: "INTEGER", nullable: false),
                    Processed = table.Column<long>(type: "INTEGER", nullable: false),
                    Changed = table.Column<long>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    CreatedByName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    StartedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    HeartbeatAt = table.Column<long>(type: "INTEGER", nullable: true),
                    FinishedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Result = table.Column<string>(type: "TEXT", nullable: true),
                    Error = table.Column<string>(type: "TEXT", maxLength: 4000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_QualificationJobs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_QualificationJobs_QualificationVersions_VersionId",
                        column: x => x.VersionId,
                        principalTable: "QualificationVersions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "VersionApprovals",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    VersionId = table.Column<Guid>(type: "TEXT", nullable: false),
                    UserId = table.Column<Guid>(type: "TEXT", nullable: false),
                    UserName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    Side = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Revision = table.Column<int>(type: "INTEGER", nullable: false),
                    At = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_VersionApprovals", x => x.Id);
                    table.ForeignKey(
                        name: "FK_VersionApprovals_AspNetUsers_UserId",
                        column: x => x.UserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_VersionApprovals_QualificationVersions_VersionId",
                        column: x => x.VersionId,
                        principalTable: "QualificationVersions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Leads_ScoreDirty",
                table: "Leads",
                column: "ScoreDirtyAt",
                filter: "\"ScoreDirtyAt\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_BantAssessments_LeadId_At",
                table: "BantAssessments",
                columns: new[] { "LeadId", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_QualificationJobs_Status_CreatedAt",
                table: "QualificationJobs",
                columns: new[] { "Status", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_QualificationJobs_VersionId",
                table: "QualificationJobs",
                column: "VersionId");

            migrationBuilder.CreateIndex(
                name: "IX_QualificationVersions_AuthorId",
                table: "QualificationVersions",
                column: "AuthorId");

            migrationBuilder.CreateIndex(
                name: "IX_QualificationVersions_Number",
                table: "QualificationVersions",
                column: "Number",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_QualificationVersions_OneActive",
                table: "QualificationVersions",
                column: "Status",
                unique: true,
                filter: "\"Status\" = 'Active'");

            migrationBuilder.CreateIndex(
                name: "IX_VersionApprovals_UserId",
                table: "VersionApprovals",
                column: "UserId");

            migrationBuilder.CreateIndex(
                name: "IX_VersionApprovals_VersionId_UserId",
                table: "VersionApprovals",
                columns: new[] { "VersionId", "UserId" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "BantAssessments");

            migrationBuilder.DropTable(
                name: "QualificationJobs");

            migrationBuilder.DropTable(
                name: "VersionApprovals");

            migrationBuilder.DropTable(
                name: "QualificationVersions");

            migrationBuilder.DropIndex(
                name: "IX_Leads_ScoreDirty",
                table: "Leads");

            migrationBuilder.DropColumn(
                name: "Grade",
                table: "Leads");

            migrationBuilder.DropColumn(
                name: "PersonaMatch",
                table: "Leads");

            migrationBuilder.DropColumn(
                name: "ScoreDirtyAt",
                table: "Leads");

            migrationBuilder.DropColumn(
                name: "ScoredAt",
                table: "Leads");

            migrationBuilder.DropColumn(
                name: "ScoredVersion",
                table: "Leads");
        }
    }
}
