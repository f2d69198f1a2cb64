using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Tandem.Bench;

/// <summary>
/// The raw database ceilings Tandem is compared with, measured on the same machine in the same run:
/// an HTTP endpoint that does one plain INSERT per request, and COPY of lead-shaped rows.
/// </summary>
public static class Ceilings
{
    public const string Table = "bench_ceiling_leads";

    public static async Task PrepareAsync(string connectionString)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"""
            DROP TABLE IF EXISTS {Table};
            CREATE TABLE {Table} (id uuid PRIMARY KEY, email varchar(254) UNIQUE, first_name varchar(100), last_name varchar(100),
                company varchar(200), created_at timestamptz NOT NULL);
            """, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>The one-INSERT HTTP server: a bare minimal API in its own process, same JSON body as Tandem receives.</summary>
    public static async Task ServeAsync(string connectionString, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var app = builder.Build();
        app.MapGet("/healthz", () => "ok");
        app.MapPost("/ingest", async (HttpRequest request) =>
        {
            using var doc = await System.Text.Json.JsonDocument.ParseAsync(request.Body);
            var root = doc.RootElement;
            await using var cmd = dataSource.CreateCommand($"INSERT INTO {Table} (id, email, first_name, last_name, company, created_at) VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (email) DO NOTHING");
            cmd.Parameters.Add(new NpgsqlParameter { Value = Guid.CreateVersion7() });
            cmd.Parameters.Add(new NpgsqlParameter { Value = root.GetProperty("email").GetString() });
            cmd.Parameters.Add(new NpgsqlParameter { Value = root.GetProperty("firstName").GetString() });
            cmd.Parameters.Add(new NpgsqlParameter { Value = root.GetProperty("lastName").GetString() });
            cmd.Parameters.Add(new NpgsqlParameter { Value = root.GetProperty("company").GetString() });
            await cmd.ExecuteNonQueryAsync();
            return Results.Created();
        });
        await app.RunAsync();
    }

    /// <summary>COPY (binary) of <paramref name="rows"/> lead-shaped rows; returns rows per second.</summary>
    public static async Task<double> CopyRowsPerSecondAsync(string connectionString, int rows)
    {
        await PrepareAsync(connectionString);
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        var sw = Stopwatch.StartNew();
        await using (var writer = await conn.BeginBinaryImportAsync($"COPY {Table} (id, email, first_name, last_name, company, created_at) FROM STDIN (FORMAT BINARY)"))
        {
            var now = DateTime.UtcNow;
            for (var i = 0; i < rows; i++)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
                await writer.WriteAsync($"copy{i}@bench{i % 5000}.example", NpgsqlDbType.Varchar);
                await writer.WriteAsync("Camille", NpgsqlDbType.Varchar);
                await writer.WriteAsync($"Martin{i}", NpgsqlDbType.Varchar);
                await writer.WriteAsync($"Company {i % 5000}", NpgsqlDbType.Varchar);
                await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            }
            await writer.CompleteAsync();
        }
        return rows / sw.Elapsed.TotalSeconds;
    }
}
