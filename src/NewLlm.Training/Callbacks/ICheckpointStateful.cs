namespace NewLlm.Training;

/// <summary>A callback whose state is saved in every checkpoint and restored on resume.</summary>
public interface ICheckpointStateful
{
    /// <summary>A key unique among the run's callbacks, under which the state is stored.</summary>
    string StateKey { get; }

    /// <summary>Returns the state to store.</summary>
    JsonNode SaveState();

    /// <summary>Restores a state returned earlier by <see cref="SaveState"/>.</summary>
    void LoadState(JsonNode state);
}
