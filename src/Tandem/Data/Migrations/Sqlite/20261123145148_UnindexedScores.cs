using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Sqlite
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
        }
    }
}
