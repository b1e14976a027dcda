namespace NewLlm;

/// <summary>
/// Runs a loop of many small tensor operations over disjoint row ranges of a batch, one row range per thread,
/// with libtorch's intra-op parallelism switched off meanwhile.
/// </summary>
/// <remarks>
/// With intra-op threads each of a time loop's hundreds of small operations per position is a parallel region with its
/// own barrier, costing more than the work (much more when other processes compete for the cores). Batch rows are
/// independent in the recurrence, so each thread taking its own rows needs no synchronisation until the loop ends.
/// </remarks>
internal static class RowParallel
{
    // Fewest rows a thread gets; smaller batches run on the calling thread only.
    private const long MinRowsPerThread = 16;

    /// <summary>
    /// Calls <paramref name="body"/>(start, length) for consecutive row ranges covering [0, <paramref name="rows"/>),
    /// with gradient recording off (grad mode is per thread in libtorch).
    /// </summary>
    public static void For(long rows, Action<long, long> body)
    {
        int threads = torch.get_num_threads();
        int parts = (int)Math.Max(1, Math.Min(threads, rows / MinRowsPerThread));
        long chunk = (rows + parts - 1) / parts;
        parts = (int)((rows + chunk - 1) / chunk); // 520 rows over 32 threads: chunks of 17 fill 31 parts, not 32
        var failures = new Exception?[parts];
        void Run(int part)
        {
            try
            {
                using var noGrad = torch.no_grad();
                body(part * chunk, Math.Min(chunk, rows - (part * chunk)));
            }
            catch (Exception ex)
            {
                failures[part] = ex;
            }
        }

        if (parts > 1)
        {
            torch.set_num_threads(1);
        }

        try
        {
            // Part 0 on the calling thread, the others on threads of their own.
            Thread[] workers = Enumerable.Range(1, parts - 1)
                .Select(part => new Thread(() => Run(part)) { IsBackground = true, Name = "NewLlm row worker" })
                .ToArray();
            foreach (Thread worker in workers)
            {
                worker.Start();
            }

            Run(0);
            foreach (Thread worker in workers)
            {
                worker.Join();
            }
        }
        finally
        {
            if (parts > 1)
            {
                torch.set_num_threads(threads);
            }
        }

        Exception[] thrown = failures.OfType<Exception>().ToArray();
        if (thrown.Length == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(thrown[0]).Throw();
        }
        else if (thrown.Length > 1)
        {
            throw new AggregateException(thrown);
        }
    }
}
