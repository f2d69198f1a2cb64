using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class SlaTargetsAndHtmlEmail : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<decimal>(
                name: "SlaAttemptsTarget",
                table: "RevenueSettings",
                type: "numeric(9,4)",
                precision: 9,
                scale: 4,
                nullable: false,
                defaultValue: 0.9m);

            migrationBuilder.AddColumn<decimal>(
                name: "SlaFirstTouchTarget",
                table: "RevenueSettings",
                type: "numeric(9,4)",
                precision: 9,
                scale: 4,
                nullable: false,
                defaultValue: 0.9m);

            migrationBuilder.AddColumn<string>(
                name: "HtmlBody",
                table: "Notifications",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "SlaAttemptsTarget",
                table: "RevenueSettings");

            migrationBuilder.DropColumn(
                name: "SlaFirstTouchTarget",
                table: "RevenueSettings");

            migrationBuilder.DropColumn(
                name: "HtmlBody",
                table: "Notifications");
        }
    }
}
