using TorchSharp;

namespace NewLlm;

/// <summary>
/// Runs a loop of many small tensor operations over disjoint row ranges of a batch, one row range per thread,
/// with libtorch's intra-op parallelism switched off meanwhile.
/// </summary>
/// <remarks>
/// A time loop issues hundreds of small operations per position; with intra-op threads each one is a parallel
/// region with its own barrier, which costs more than the work when the operations are small (and much more when
/// other processes compete for the cores). Rows of the batch are independent in the recurrence, so giving each
/// thread its own rows keeps every core busy with no synchronisation until the end of the loop.
/// </remarks>
internal static class RowParallel
{
    /// <summary>Fewest rows a thread gets; smaller batches run on the calling thread only.</summary>
    private const long MinRowsPerThread = 16;

    /// <summary>Calls <paramref name="body"/>(start, length) for consecutive row ranges covering [0, <paramref name="rows"/>).</summary>
    /// <param name="rows">Number of rows.</param>
    /// <param name="body">The loop over one row range.</param>
    /// <remarks>Gradient recording is off in <paramref name="body"/> (grad mode is per thread in libtorch).</remarks>
    public static void For(long rows, Action<long, long> body)
    {
        Action<long, long> run = (start, length) =>
        {
            using var noGrad = torch.no_grad();
            body(start, length);
        };

        int threads = torch.get_num_threads();
        int parts = (int)Math.Max(1, Math.Min(threads, rows / MinRowsPerThread));
        if (parts <= 1)
        {
            run(0, rows);
            return;
        }

        torch.set_num_threads(1);
        try
        {
            const int FirstWorker = 1;
            var workers = new Thread[parts - FirstWorker];
            var failures = new Exception?[parts + 1];
            long chunk = (rows + parts - 1) / parts;
            for (int p = FirstWorker; p < parts; p++)
            {
                int part = p;
                long start = part * chunk;
                long length = Math.Min(chunk, rows - start);
                workers[p - FirstWorker] = new Thread(() =>
                {
                    try
                    {
                        run(start, length);
                    }
                    catch (Exception ex)
                    {
                        failures[part] = ex;
                    }
                })
                { IsBackground = true, Name = "NewLlm row worker" };
                workers[p - FirstWorker].Start();
            }

            try
            {
                run(0, Math.Min(chunk, rows));
            }
            catch (Exception ex)
            {
                failures[parts] = ex;
            }

            foreach (Thread worker in workers)
            {
                worker.Join();
            }

            Exception[] thrown = failures.Where(f => f is not null).Select(f => f!).ToArray();
            if (thrown.Length == 1)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(thrown[0]).Throw();
            }
            else if (thrown.Length > 1)
            {
                throw new AggregateException(thrown);
            }
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }
}
