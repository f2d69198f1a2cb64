using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class RevenueObjects : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Deals_OwnerId",
                table: "Deals");

            migrationBuilder.AddColumn<DateOnly>(
                name: "ExpectedCloseOn",
                table: "Deals",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Kind",
                table: "Deals",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                defaultValue: "NewBusiness");

            migrationBuilder.AddColumn<string>(
                name: "LossReason",
                table: "Deals",
                type: "TEXT",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "Mrr",
                table: "Deals",
                type: "INTEGER",
                precision: 18,
                scale: 2,
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "ParentDealId",
                table: "Deals",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Probability",
                table: "Deals",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Source",
                table: "Deals",
                type: "TEXT",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Stage",
                table: "Deals",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                defaultValue: "Qualification");

            migrationBuilder.AddColumn<long>(
                name: "StageChangedAt",
                table: "Deals",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "UpdatedAt",
                table: "Deals",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "WinReason",
                table: "Deals",
                type: "TEXT",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ChurnReason",
                table: "Accounts",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ChurnedAt",
                table: "Accounts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ContractCurrency",
                table: "Accounts",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "ContractStartsOn",
                table: "Accounts",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ContractValue",
                table: "Accounts",
                type: "INTEGER",
                precision: 18,
                scale: 2,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "CustomerSince",
                table: "Accounts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "Mrr",
                table: "Accounts",
                type: "INTEGER",
                precision: 18,
                scale: 2,
                nullable: true);

            migrationBuilder.AddColumn<DateOnly>(
                name: "RenewalOn",
                table: "Accounts",
                type: "TEXT",
                nullable: true);

            // Existing deals: the stage follows the status; update and stage-change times start at the close (or creation).
            migrationBuilder.Sql("UPDATE \"Deals\" SET \"Stage\" = 'Won' WHERE \"Status\" = 'Won'");
            migrationBuilder.Sql("UPDATE \"Deals\" SET \"Stage\" = 'Lost' WHERE \"Status\" = 'Lost'");
            migrationBuilder.Sql("UPDATE \"Deals\" SET \"UpdatedAt\" = COALESCE(\"ClosedAt\", \"CreatedAt\"), \"StageChangedAt\" = COALESCE(\"ClosedAt\", \"CreatedAt\")");

            migrationBuilder.CreateTable(
                name: "DealStageChanges",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    DealId = table.Column<Guid>(type: "TEXT", nullable: false),
                    From = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    To = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    At = table.Column<long>(type: "INTEGER", nullable: false),
                    ByUserId = table.Column<Guid>(type: "TEXT", nullable: true),
                    Note = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DealStageChanges", x => x.Id);
                    table.ForeignKey(
                        name: "FK_DealStageChanges_Deals_DealId",
                        column: x => x.DealId,
                        principalTable: "Deals",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "ExchangeRates",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    FromCurrency = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 3, nullable: false),
                    ToCurrency = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 3, nullable: false),
                    On = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    Rate = table.Column<long>(type: "INTEGER", precision: 18, scale: 8, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ExchangeRates", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RevenueGoals",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Period = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    StartsOn = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    Amount = table.Column<long>(type: "INTEGER", precision: 18, scale: 2, nullable: false),
                    Currency = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 3, nullable: false),
                    Segment = table.Column<string>(type: "TEXT", maxLength: 100, nullable: true),
                    AverageDealSize = table.Column<long>(type: "INTEGER", precision: 18, scale: 2, nullable: true),
                    LeadToMqlRate = table.Column<long>(type: "INTEGER", precision: 9, scale: 6, nullable: true),
                    MqlToSqlRate = table.Column<long>(type: "INTEGER", precision: 9, scale: 6, nullable: true),
                    SqlToOpportunityRate = table.Column<long>(type: "INTEGER", precision: 9, scale: 6, nullable: true),
                    OpportunityToWonRate = table.Column<long>(type: "INTEGER", precision: 9, scale: 6, nullable: true),
                    CommittedMqls = table.Column<int>(type: "INTEGER", nullable: true),
                    AcceptanceFloor = table.Column<long>(type: "INTEGER", precision: 9, scale: 6, nullable: true),
                    RatingFloor = table.Column<long>(type: "INTEGER", precision: 9, scale: 6, nullable: true),
                    Note = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    CreatedBy = table.Column<Guid>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RevenueGoals", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RevenueSettings",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    ReportingCurrency = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 3, nullable: false),
                    TimeZone = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    GrossMarginPercent = table.Column<long>(type: "INTEGER", precision: 9, scale: 4, nullable: false),
                    WeeklyReportDay = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    WeeklyReportHour = table.Column<int>(type: "INTEGER", nullable: false),
                    WeeklyReportEnabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    WeeklyReportLastSentFor = table.Column<long>(type: "INTEGER", nullable: true),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    UpdatedBy = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RevenueSettings", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "SalesCosts",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Month = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    Amount = table.Column<long>(type: "INTEGER", precision: 18, scale: 2, nullable: false),
                    Currency = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 3, nullable: false),
                    Note = table.Column<string>(type: "TEXT", maxLength: 500, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_SalesCosts", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Deals_CreatedAt",
                table: "Deals",
                column: "CreatedAt");

            migrationBuilder.CreateIndex(
                name: "IX_Deals_OwnerId_Status",
                table: "Deals",
                columns: new[] { "OwnerId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_DealStageChanges_DealId_At",
                table: "DealStageChanges",
                columns: new[] { "DealId", "At" });

            migrationBuilder.CreateIndex(
                name: "IX_ExchangeRates_FromCurrency_ToCurrency_On",
                table: "ExchangeRates",
                columns: new[] { "FromCurrency", "ToCurrency", "On" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_RevenueGoals_StartsOn_Period_Segment",
                table: "RevenueGoals",
                columns: new[] { "StartsOn", "Period", "Segment" });

            migrationBuilder.CreateIndex(
                name: "IX_SalesCosts_Month",
                table: "SalesCosts",
                column: "Month");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "DealStageChanges");

            migrationBuilder.DropTable(
                name: "ExchangeRates");

            migrationBuilder.DropTable(
                name: "RevenueGoals");

            migrationBuilder.DropTable(
                name: "RevenueSettings");

            migrationBuilder.DropTable(
                name: "SalesCosts");

            migrationBuilder.DropIndex(
                name: "IX_Deals_CreatedAt",
                table: "Deals");

            migrationBuilder.DropIndex(
                name: "IX_Deals_OwnerId_Status",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "ExpectedCloseOn",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "Kind",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "LossReason",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "Mrr",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "ParentDealId",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "Probability",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "Source",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "Stage",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "StageChangedAt",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "UpdatedAt",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "WinReason",
                table: "Deals");

            migrationBuilder.DropColumn(
                name: "ChurnReason",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "ChurnedAt",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "ContractCurrency",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "ContractStartsOn",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "ContractValue",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "CustomerSince",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "Mrr",
                table: "Accounts");

            migrationBuilder.DropColumn(
                name: "RenewalOn",
                table: "Accounts");

            migrationBuilder.CreateIndex(
                name: "IX_Deals_OwnerId",
                table: "Deals",
                column: "OwnerId");
        }
    }
}
