using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class UnindexedScores : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Leads_EngagementScore",
                table: "Leads");

            migrationBuilder.DropIndex(
                name: "IX_Leads_FitScore",
                table: "Leads");

            // Free space on each page so score updates stay on their page (HOT) and touch no index.
            migrationBuilder.Sql("ALTER TABLE \"Leads\" SET (fillfactor = 85);");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_Leads_EngagementScore",
                table: "Leads",
                column: "EngagementScore");

            migrationBuilder.CreateIndex(
                name: "IX_Leads_FitScore",
                table: "Leads",
                column: "FitScore");
            migrationBuilder.Sql("ALTER TABLE \"Leads\" RESET (fillfactor);");
        }
    }
}
