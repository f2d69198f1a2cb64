using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class SlaTargetsAndHtmlEmail : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "SlaAttemptsTarget",
                table: "RevenueSettings",
                type: "INTEGER",
                precision: 9,
                scale: 4,
                nullable: false,
                defaultValue: 9000L);

            migrationBuilder.AddColumn<long>(
                name: "SlaFirstTouchTarget",
                table: "RevenueSettings",
                type: "INTEGER",
                precision: 9,
                scale: 4,
                nullable: false,
                defaultValue: 9000L);

            migrationBuilder.AddColumn<string>(
                name: "HtmlBody",
                table: "Notifications",
                type: "TEXT",
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
