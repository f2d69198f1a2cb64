using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tandem.Data.Migrations.Sqlite
{
    /// <summary>
    /// The previous migration rebuilt the Leads table (that is how SQLite drops a foreign key), which dropped the
    /// <c>lower(LastName)</c> and <c>lower(Company)</c> indexes created in SQL by the initial migration: create them again.
    /// </summary>
    public partial class LeadSearchIndexesAfterRebuild : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("CREATE INDEX IF NOT EXISTS \"IX_Leads_lower_LastName\" ON \"Leads\" (lower(\"LastName\"));");
            migrationBuilder.Sql("CREATE INDEX IF NOT EXISTS \"IX_Leads_lower_Company\" ON \"Leads\" (lower(\"Company\"));");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Kept: the indexes belong to the initial migration, and undoing the rebuild drops them anyway.
        }
    }
}
