package events_test

import (
	"fmt"

	"github.com/ytdnn/ytdnn/events"
)

// A user's log: a video shown and clicked, then its watch.
func Example() {
	evs := []events.Event{
		{User: 7, Time: 1_000, Item: 42, Kind: events.Impression, Clicked: true, WatchTime: 95},
		{User: 7, Time: 1_000, Item: 42, Kind: events.Watch},
	}
	for _, e := range evs {
		fmt.Println(e.Kind == events.Watch, e.Item)
	}
	// Output:
	// false 42
	// true 42
}
