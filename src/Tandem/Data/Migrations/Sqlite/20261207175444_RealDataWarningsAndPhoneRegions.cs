using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class RealDataWarningsAndPhoneRegions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "PhoneRegion",
                table: "WebhookSources",
                type: "TEXT",
                maxLength: 2,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PhoneRegion",
                table: "LeadForms",
                type: "TEXT",
                maxLength: 2,
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "IsWarning",
                table: "ImportRowErrors",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<int>(
                name: "RowsWithWarnings",
                table: "ImportJobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "Warnings",
                table: "ImportJobs",
                type: "TEXT",
                maxLength: 64000,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "CaptureSettings",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    DefaultPhoneRegion = table.Column<string>(type: "TEXT", maxLength: 2, nullable: true),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedBy = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CaptureSettings", x => x.Id);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "CaptureSettings");

            migrationBuilder.DropColumn(
                name: "PhoneRegion",
                table: "WebhookSources");

            migrationBuilder.DropColumn(
                name: "PhoneRegion",
                table: "LeadForms");

            migrationBuilder.DropColumn(
                name: "IsWarning",
                table: "ImportRowErrors");

            migrationBuilder.DropColumn(
                name: "RowsWithWarnings",
                table: "ImportJobs");

            migrationBuilder.DropColumn(
                name: "Warnings",
                table: "ImportJobs");
        }
    }
}
