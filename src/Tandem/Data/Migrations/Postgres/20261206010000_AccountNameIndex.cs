using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Postgres
{
    /// <summary>
    /// Capture finds the account of a free-mail lead by company name (<c>lower("Name")</c>, accounts without a domain): an
    /// expression index, so that lookup is no longer a scan of every account. Not in the model (EF does not map expression
    /// indexes), like the lead search indexes of the initial migration.
    /// </summary>
    [DbContext(typeof(PostgresTandemDb))]
    [Migration("20261206010000_AccountNameIndex")]
    public partial class AccountNameIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder) =>
            migrationBuilder.Sql("CREATE INDEX \"IX_Accounts_lower_Name\" ON \"Accounts\" (lower(\"Name\")) WHERE \"Domain\" IS NULL;");

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder) =>
            migrationBuilder.Sql("DROP INDEX \"IX_Accounts_lower_Name\";");
    }
}
