using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class PartialCaptureIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Leads_AccountId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_Email",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_ExternalId_ExternalSystem",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_FirstCampaignId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_LatestCampaignId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_OwnerId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_PersonaId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_Phone",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Activities_CampaignId_OccurredAt",
                table: "Activities");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_AccountId",
                table: "Leads",
                column: "AccountId",
                filter: "\"AccountId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_Email",
                table: "Leads",
                column: "Email",
                unique: true,
                filter: "\"Email\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_ExternalId_ExternalSystem",
                table: "Leads",
                columns: new[] { "ExternalId", "ExternalSystem" },
                unique: true,
                filter: "\"ExternalId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_FirstCampaignId",
                table: "Leads",
                column: "FirstCampaignId",
                filter: "\"FirstCampaignId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_LatestCampaignId",
                table: "Leads",
                column: "LatestCampaignId",
                filter: "\"LatestCampaignId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_OwnerId",
                table: "Leads",
                column: "OwnerId",
                filter: "\"OwnerId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_PersonaId",
                table: "Leads",
                column: "PersonaId",
                filter: "\"PersonaId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_Phone",
                table: "Leads",
                column: "Phone",
                unique: true,
                filter: "\"Phone\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Activities_CampaignId_OccurredAt",
                table: "Activities",
                columns: new[] { "CampaignId", "OccurredAt" },
                filter: "\"CampaignId\" IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Leads_AccountId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_Email",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_ExternalId_ExternalSystem",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_FirstCampaignId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_LatestCampaignId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_OwnerId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_PersonaId",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_Phone",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Activities_CampaignId_OccurredAt",
                table: "Activities");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_AccountId",
                table: "Leads",
                column: "AccountId");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_Email",
                table: "Leads",
                column: "Email",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Leads_ExternalId_ExternalSystem",
                table: "Leads",
                columns: new[] { "ExternalId", "ExternalSystem" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Leads_FirstCampaignId",
                table: "Leads",
                column: "FirstCampaignId");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_LatestCampaignId",
                table: "Leads",
                column: "LatestCampaignId");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_OwnerId",
                table: "Leads",
                column: "OwnerId");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_PersonaId",
                table: "Leads",
                column: "PersonaId");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_Phone",
                table: "Leads",
                column: "Phone",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Activities_CampaignId_OccurredAt",
                table: "Activities",
                columns: new[] { "CampaignId", "OccurredAt" });
        }
    }
}
