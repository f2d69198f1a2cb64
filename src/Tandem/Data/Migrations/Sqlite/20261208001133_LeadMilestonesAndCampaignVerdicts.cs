using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class LeadMilestonesAndCampaignVerdicts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "CampaignVerdicts",
                columns: table => new
                {
                    TransitionId = table.Column<Guid>(type: "TEXT", nullable: false),
                    CampaignId = table.Column<Guid>(type: "TEXT", nullable: false),
                    LeadId = table.Column<Guid>(type: "TEXT", nullable: false),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    Accepted = table.Column<bool>(type: "INTEGER", nullable: false),
                    Rule = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CampaignVerdicts", x => x.TransitionId);
                });

            migrationBuilder.CreateTable(
                name: "LeadMilestones",
                columns: table => new
                {
                    LeadId = table.Column<Guid>(type: "TEXT", nullable: false),
                    MqlAt = table.Column<long>(type: "INTEGER", nullable: true),
                    SqlAt = table.Column<long>(type: "INTEGER", nullable: true),
                    OpportunityAt = table.Column<long>(type: "INTEGER", nullable: true),
                    CustomerAt = table.Column<long>(type: "INTEGER", nullable: true),
                    AcceptedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    RejectedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    RejectRule = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    RejectTransitionId = table.Column<Guid>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LeadMilestones", x => x.LeadId);
                });

            migrationBuilder.CreateIndex(
                name: "IX_CampaignVerdicts_CampaignId_At_TransitionId",
                table: "CampaignVerdicts",
                columns: new[] { "CampaignId", "At", "TransitionId" });

            migrationBuilder.CreateIndex(
                name: "IX_CampaignVerdicts_LeadId",
                table: "CampaignVerdicts",
                column: "LeadId");

            migrationBuilder.CreateIndex(
                name: "IX_LeadMilestones_MqlAt",
                table: "LeadMilestones",
                column: "MqlAt");

            // Triggers keep both tables equal to the raw stage transitions; then both are filled from the existing rows (decision 021).
            Tandem.Features.Leads.LeadRollups.Install(migrationBuilder, postgres: false);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            Tandem.Features.Leads.LeadRollups.Uninstall(migrationBuilder, postgres: false);

            migrationBuilder.DropTable(
                name: "CampaignVerdicts");

            migrationBuilder.DropTable(
                name: "LeadMilestones");
        }
    }
}
